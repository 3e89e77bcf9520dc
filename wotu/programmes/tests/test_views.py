"""The programme pages as a person uses them: creating a programme and a call, applying with
errors shown next to their fields, the officer's application list and the formal check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.programmes.models import Application, Call, Programme, Status
from wotu.programmes.services import application_draft_save, application_submit
from wotu.programmes.tests.factories import PIPELINE
from wotu.programmes.tests.test_services import PDF, complete_draft, open_call


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def signed_in(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def form_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "工业机器人关节减速器", "field": "machinery", "partners": "",
        "answer_summary": "高精度 RV 减速器", "answer_start": "2026-06-01",
        "budget_equipment": "100000", "budget_staff": "80000", "budget_other": "20000",
        "requested": "200000", "action": "save",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_an_officer_creates_a_programme_then_a_call(client: Client, alice: User) -> None:
    import json

    signed_in(client, "alice")
    response = client.post(reverse("programmes:programme_create"), {
        "code": "gz-joint-2026", "title": "穗港澳联合资助", "title_en": "GZ-HK-MO joint funding",
        "year": 2026, "budget": "60000000", "max_award": "2000000", "kinds": ["university"],
        "regions": ["CN", "HK", "MO"], "hkmo_may_lead": "on", "pipeline": json.dumps(PIPELINE),
        "form": "[]", "budget_lines": "[]",
    })  # fmt: skip
    programme = Programme.objects.get(code="gz-joint-2026")
    assert response["Location"] == reverse("programmes:programme", args=[programme.pk])
    response = client.post(reverse("programmes:call_create", args=[programme.pk]), {
        "code": "gz2026", "title": "2026 年度", "title_en": "2026", "conflict_years": 3,
        "opens_at": "2026-03-01T09:00", "closes_at": "2026-03-31T17:00",
    })  # fmt: skip
    call = Call.objects.get(code="gz2026")
    assert call.closes_at.isoformat() == "2026-03-31T09:00:00+00:00"  # 17:00 Beijing time
    assert call.stages.count() == 5


def test_a_bad_pipeline_is_shown_next_to_its_field(client: Client, alice: User) -> None:
    response = signed_in(client, "alice").post(reverse("programmes:programme_create"), {
        "code": "x", "title": "x", "title_en": "x", "year": 2026, "budget": "100",
        "kinds": ["enterprise"], "regions": ["CN"], "pipeline": '[{"kind": "committee"}]',
    })  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="pipeline"' in page and "评分阶段" in page
    assert not Programme.objects.exists()


def test_an_applicant_saves_a_draft_with_its_file(client: Client, dave: User) -> None:
    call = open_call()
    response = signed_in(client, "dave").post(
        reverse("programmes:apply", args=[call.pk]),
        form_post(answer_plan=SimpleUploadedFile("申报书.pdf", PDF)),
    )
    application = Application.objects.get()
    assert response["Location"] == reverse("programmes:edit", args=[application.pk])
    assert application.files.get().original_name == "申报书.pdf"
    page = client.get(response["Location"]).content.decode()
    assert "申报书.pdf" in page and 'value="工业机器人关节减速器"' in page


def test_submitting_shows_every_error_next_to_its_field(client: Client, dave: User) -> None:
    call = open_call()
    response = signed_in(client, "dave").post(
        reverse("programmes:apply", args=[call.pk]),
        form_post(answer_summary="", requested="250000", action="submit"),
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert Application.objects.get().status == Status.DRAFT  # saved, not submitted
    for field in ("answer_summary", "answer_plan", "requested"):
        assert f'id="id_{field}_error"' in page
    assert "「项目摘要」为必填项" in page
    assert "相差" in page  # the budget difference


def test_a_wrong_value_keeps_what_the_applicant_typed(client: Client, dave: User) -> None:
    call = open_call()
    response = signed_in(client, "dave").post(
        reverse("programmes:apply", args=[call.pk]), form_post(answer_start="2026-02-30")
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'value="2026-02-30"' in page and 'id="id_answer_start_error"' in page
    assert not Application.objects.exists()


def test_an_applicant_submits_and_follows_the_status(client: Client, dave: User) -> None:
    application = complete_draft(dave, open_call())
    response = signed_in(client, "dave").post(
        reverse("programmes:edit", args=[application.pk]), form_post(action="submit")
    )
    assert response["Location"] == reverse("programmes:application", args=[application.pk])
    mine = client.get(reverse("programmes:mine")).content.decode()
    assert application.reference in mine and "已提交" in mine


def test_an_officer_filters_the_call_applications_by_status_with_counts(
    client: Client, alice: User, dave: User, erin: User
) -> None:
    call = open_call()
    application_submit(actor=dave, application=complete_draft(dave, call))
    application_draft_save(actor=erin, call=call, title="多肽")
    url = reverse("programmes:call", args=[call.pk])
    page = signed_in(client, "alice").get(url).content.decode()
    assert 'data-status="submitted">已提交</a>: <strong>1</strong>' in page
    assert 'data-status="draft">草稿</a>: <strong>1</strong>' in page
    filtered = client.get(url, {"status": "submitted"}).content.decode()
    assert "多肽" not in filtered and "工业机器人关节减速器" in filtered


def test_the_officer_passes_the_formal_check_on_its_page(
    client: Client, alice: User, dave: User
) -> None:
    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    url = reverse("programmes:check", args=[application.pk])
    page = signed_in(client, "alice").get(url).content.decode()
    assert "全部通过" in page or "all pass" in page
    refused = client.post(url, {"outcome": "return", "note": ""})
    assert refused.status_code == 400 and 'id="id_note_error"' in refused.content.decode()
    client.post(url, {"outcome": "pass"})
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW


def test_the_applicant_confirms_before_withdrawing(client: Client, dave: User) -> None:
    application = complete_draft(dave, open_call())
    url = reverse("programmes:withdraw", args=[application.pk])
    signed_in(client, "dave").get(url)
    application.refresh_from_db()
    assert application.status == Status.DRAFT
    client.post(url, {"reason": "团队变动"})
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN


def test_a_downloaded_attachment_keeps_its_name_and_is_not_sniffed(
    client: Client, dave: User
) -> None:
    application = complete_draft(dave, open_call())
    response = signed_in(client, "dave").get(
        reverse("programmes:file", args=[application.pk, "plan"])
    )
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]


def test_the_open_calls_page_lists_the_call_in_english_too(client: Client, erin: User) -> None:
    call = open_call(max_award=Decimal("300000.00"))
    signed_in(client, "erin")
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("programmes:open")).content.decode()
    assert call.title_en in page
