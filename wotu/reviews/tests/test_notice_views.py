"""The public notice pages through the test client: who may open what, the objection form,
the downloads (Excel cells, PDF text), resolving and deciding in the officer's pages."""

from __future__ import annotations

import datetime as dt
import io
import re
import zlib
from base64 import a85decode
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from wotu.core.models import User
from wotu.core.tests.access import persona_client
from wotu.organisations.models import Organisation
from wotu.programmes.models import Application, Award, Call, CallStatus, Status
from wotu.reviews.decision import decision_record
from wotu.reviews.models import Notice, Objection, ObjectionOutcome
from wotu.reviews.notice import notice_publish, objection_receipt
from wotu.reviews.notice_export import notice_pdf, notice_xlsx
from wotu.reviews.tests.test_notice import AFTER, PUBLISHED, call_on_notice_stage

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "alice", "bob", "carol", "dave", "erin", "frank", "gina"]


@pytest.fixture
def world(haina: Organisation, jiaodong: Organisation, alice: User) -> dict[str, Any]:
    """An open notice (published now), a decided one with an objection, a call in review."""
    open_call, open_apps = call_on_notice_stage([haina, jiaodong])
    live = notice_publish(call=open_call, actor=alice, published_at=timezone.now())
    old_call, _ = call_on_notice_stage([jiaodong])
    done = notice_publish(call=old_call, actor=alice, published_at=PUBLISHED)
    decision_record(call=old_call, actor=alice, minutes="纪要 3", now=AFTER)
    objection = Objection.objects.create(
        notice=live, name="王芳", contact="13900001111", text="材料不实，请核查。谢谢。",
        filed_at=timezone.now(), officer=alice,
    )  # fmt: skip
    ready, _ = call_on_notice_stage([haina])
    return {"live": live, "done": done, "objection": objection, "ready": ready,
            "apps": open_apps}  # fmt: skip


PAGES = {
    "list": "/notices/",
    "notice": "/notices/{live}/",
    "xlsx": "/notices/{live}/notice.xlsx",
    "pdf": "/notices/{live}/notice.pdf",
    "funded (decided)": "/notices/{done}/decision/",
    "funded (not yet)": "/notices/{live}/decision/",
    "missing notice": "/notices/999999/",
    "manage": "/notices/manage/",
    "publish": "/notices/publish/{ready}/",
    "objections": "/notices/{live}/objections/",
    "objection": "/notices/objections/{objection}/",
    "missing objection": "/notices/objections/999999/",
    "decide": "/notices/{live}/decide/",
}
L = 302  # to the sign-in page
# persona:             anon alice bob  carol dave erin frank gina
ACCESS = {
    "list":              [200, 200, 200, 200, 200, 200, 200, 200],
    "notice":            [200, 200, 200, 200, 200, 200, 200, 200],
    "xlsx":              [200, 200, 200, 200, 200, 200, 200, 200],
    "pdf":               [200, 200, 200, 200, 200, 200, 200, 200],
    "funded (decided)":  [200, 200, 200, 200, 200, 200, 200, 200],
    "funded (not yet)":  [404, 404, 404, 404, 404, 404, 404, 404],
    "missing notice":    [404, 404, 404, 404, 404, 404, 404, 404],
    "manage":            [L, 200, 403, 403, 403, 403, 403, 200],
    "publish":           [L, 200, 403, 403, 403, 403, 403, 200],
    "objections":        [L, 200, 403, 403, 403, 403, 403, 200],
    "objection":         [L, 200, 403, 403, 403, 403, 403, 200],
    "missing objection": [L, 404, 403, 403, 403, 403, 403, 404],
    "decide":            [L, 200, 403, 403, 403, 403, 403, 200],
}  # fmt: skip
CASES = [(p, persona, s[i]) for p, s in ACCESS.items() for i, persona in enumerate(PERSONAS)]


def url(page: str, world: dict[str, Any]) -> str:
    return PAGES[page].format(
        live=world["live"].pk, done=world["done"].pk, ready=world["ready"].pk,
        objection=world["objection"].pk,
    )  # fmt: skip


@pytest.mark.parametrize(("page", "persona", "expected"), CASES)
def test_every_page_answers_every_persona_as_the_role_matrix_says(
    request: pytest.FixtureRequest, world: dict[str, Any], page: str, persona: str, expected: int
) -> None:
    response = persona_client(request=request, persona=persona).get(url(page, world))
    assert response.status_code == expected
    if expected == L:
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_one_but_officers_posts_to_officer_pages(
    request: pytest.FixtureRequest, world: dict[str, Any], persona: str
) -> None:
    client = persona_client(request=request, persona=persona)
    responses = [
        client.post(url("publish", world)),
        client.post(url("objection", world), {"outcome": "upheld", "resolution": "成立。"}),
        client.post(url("decide", world), {"minutes": "纪要"}),
    ]
    officer = persona in {"alice", "gina"}
    assert all(r.status_code in ({200, 302, 400} if officer else {302, 403}) for r in responses)
    world["objection"].refresh_from_db()
    assert (world["objection"].outcome == ObjectionOutcome.UPHELD) == officer


# --- the public page ---------------------------------------------------------------------------


def test_the_public_page_lists_the_projects_and_the_window_without_expert_data(
    client: Client, world: dict[str, Any]
) -> None:
    text = client.get(url("notice", world)).content.decode()
    for application in world["apps"]:
        assert application.reference in text and application.title in text
    assert "¥500,000.00" in text  # the total
    assert "王芳" not in text and "13900001111" not in text  # no one's objection is shown
    assert 'data-testid="objection-form"' in text


def test_the_public_files_an_objection_and_sees_only_its_receipt(
    client: Client, world: dict[str, Any], alice: User
) -> None:
    target = world["apps"][0]
    response = client.post(url("notice", world), {
        "name": "陈大文", "contact": "+852 9123 4567", "reference": target.reference,
        "text": "该项目负责人同时在另一项目中申报，存在重复申报。",
    })  # fmt: skip
    assert response.status_code == 200
    objection = Objection.objects.get(name="陈大文")
    assert objection.application == target and objection.contact == "+85291234567"
    text = response.content.decode()
    assert objection_receipt(objection=objection) in text
    assert "王芳" not in text


@pytest.mark.parametrize(
    ("name", "contact", "problem"),
    [("匿名", "13812345678", "匿名"), ("王芳", "12345", "联系方式"), ("某某", "a@b.cn", "匿名")],
)
def test_an_anonymous_or_unreachable_objection_is_refused_on_the_page(
    client: Client, world: dict[str, Any], name: str, contact: str, problem: str
) -> None:
    response = client.post(url("notice", world), {
        "name": name, "contact": contact, "text": "公示项目存在明显问题，请核查处理。"
    })  # fmt: skip
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert Objection.objects.count() == 1  # only the fixture's


def test_after_the_window_the_page_offers_no_form_and_refuses_posts(
    client: Client, world: dict[str, Any]
) -> None:
    done = world["done"]
    text = client.get(f"/notices/{done.pk}/").content.decode()
    assert 'data-testid="window-closed"' in text and "objection-form" not in text
    response = client.post(f"/notices/{done.pk}/", {
        "name": "王芳", "contact": "13812345678", "text": "公示项目存在明显问题，请核查处理。"
    })  # fmt: skip
    assert response.status_code == 400
    assert not Objection.objects.filter(notice=done).exists()


def test_the_funded_list_shows_awards_and_the_total(client: Client, world: dict[str, Any]) -> None:
    text = client.get(url("funded (decided)", world)).content.decode()
    awards = Award.objects.filter(application__call=world["done"].call)
    assert all(a.application.reference in text for a in awards) and len(awards) == 2
    assert "¥300,000.00" in text and "¥500,000.00" in text  # one award, the total


# --- downloads ---------------------------------------------------------------------------------


def test_the_excel_download_holds_the_list_with_amounts_as_numbers(
    client: Client, world: dict[str, Any]
) -> None:
    response = client.get(url("xlsx", world))
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(min_row=4, values_only=True)]
    refs = sorted(a.reference for a in world["apps"])
    assert [r[1] for r in rows[:2]] == refs
    assert rows[0][2] == "海纳机器人有限公司" and rows[0][4] == "机械装备与智能制造"
    assert rows[0][5] == 300000 and rows[-1][5] == 500000
    assert "公示期" in str(sheet["A2"].value)


def pdf_text(data: bytes) -> str:
    """The text drawn on a reportlab PDF's pages: inflate each stream, read the string operands
    of Tj, decode STSong-Light's UCS-2 (big-endian) text."""
    found: list[str] = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            content = zlib.decompress(a85decode(raw.strip(), adobe=True))
        except Exception:  # noqa: S112 — fonts and images are not page content
            continue
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S):
            chars = re.sub(rb"\\([0-7]{1,3}|.)", _unescape, literal)
            found.append(chars.decode("utf-16-be", errors="replace"))
    return "".join(found)


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    return bytes([int(code, 8)]) if code[:1].isdigit() else code


def test_the_pdf_download_holds_every_reference_and_the_chinese_title(
    client: Client, world: dict[str, Any]
) -> None:
    response = client.get(url("pdf", world))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and b"STSong-Light" in response.content
    text = pdf_text(response.content)
    for application in world["apps"]:
        assert application.reference in text
    assert "拟资助项目公示" in text and "海纳机器人有限公司" in text


def test_a_long_list_runs_to_more_pages(haina: Organisation, alice: User) -> None:
    call, _ = call_on_notice_stage([haina], amounts=tuple("1000.00" for _ in range(80)))
    notice = notice_publish(call=call, actor=alice, published_at=PUBLISHED)
    pages = notice_pdf(notice=notice).count(b"/Type /Page\n")
    assert pages >= 3
    assert len(notice_xlsx(notice=notice)) > 0


# --- officers ----------------------------------------------------------------------------------


def test_an_officer_publishes_a_call_from_the_manage_page(
    world: dict[str, Any], alice: User
) -> None:
    client = Client()
    client.force_login(alice)
    ready: Call = world["ready"]
    assert f"/notices/publish/{ready.pk}/" in client.get("/notices/manage/").content.decode()
    response = client.post(f"/notices/publish/{ready.pk}/")
    notice = Notice.objects.get(call=ready)
    assert response["Location"] == f"/notices/{notice.pk}/objections/"
    ready.refresh_from_db()
    assert ready.status == CallStatus.NOTICE


def test_publishing_with_applications_still_in_review_says_which(
    world: dict[str, Any], alice: User, haina: Organisation
) -> None:
    from wotu.programmes.tests.factories import application_make

    waiting = application_make(call=world["ready"], organisation=haina, status=Status.IN_REVIEW)
    client = Client()
    client.force_login(alice)
    response = client.post(f"/notices/publish/{world['ready'].pk}/")
    assert response.status_code == 400 and waiting.reference in response.content.decode()


def test_an_officer_reads_the_contact_and_resolves_the_objection(
    world: dict[str, Any], alice: User
) -> None:
    client = Client()
    client.force_login(alice)
    page = client.get(url("objection", world)).content.decode()
    assert "13900001111" in page and "材料不实" in page
    missing = client.post(url("objection", world), {"outcome": "upheld", "resolution": ""})
    assert missing.status_code == 400
    done = client.post(url("objection", world), {"outcome": "dismissed", "resolution": "不成立。"})
    assert done.status_code == 302
    world["objection"].refresh_from_db()
    assert world["objection"].outcome == ObjectionOutcome.DISMISSED


def test_the_decision_form_refuses_too_early_and_lowers_amounts_when_told(
    world: dict[str, Any], alice: User
) -> None:
    client = Client()
    client.force_login(alice)
    early = client.post(url("decide", world), {"minutes": "纪要"})
    assert early.status_code == 400 and "公示期至" in early.content.decode()
    live: Notice = world["live"]
    world["objection"].outcome = ObjectionOutcome.DISMISSED
    world["objection"].save()
    Notice.objects.filter(pk=live.pk).update(closes_at=timezone.now() - dt.timedelta(days=1))
    first: Application = world["apps"][0]
    done = client.post(url("decide", world), {"minutes": "纪要 7", f"amount-{first.reference}":
                                              "123456.78"})  # fmt: skip
    assert done.status_code == 302
    assert Award.objects.get(application=first).amount == Decimal("123456.78")
