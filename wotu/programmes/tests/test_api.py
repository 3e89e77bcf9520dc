"""The programmes REST API: calls, drafts, files, submission with every error at once, withdrawal
and the formal check, with the API's refusals (401/403/404/400/422).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Status
from wotu.programmes.tests.test_services import BUDGET, PDF, PNG, open_call


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def signed_in(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def post(client: Client, url: str, body: Any = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def draft_body() -> dict[str, Any]:
    return {
        "title": "工业机器人关节减速器", "field": "machinery", "budget": BUDGET,
        "requested": "200000.00",
        "answers": {"summary": "高精度 RV 减速器的国产化。", "start": "2026-06-01"},
    }  # fmt: skip


def test_anonymous_callers_are_refused_in_both_languages(client: Client) -> None:
    response = client.get("/api/calls")
    assert response.status_code == 401
    assert response.json()["detail_zh"] and response.json()["detail_en"]


def test_an_applicant_lists_open_calls(client: Client, dave: User) -> None:
    call = open_call()
    body = signed_in(client, "dave").get("/api/calls?open_only=true").json()
    assert [c["code"] for c in body] == [call.code]
    assert body[0]["accepting"] is True
    assert body[0]["budget"] == "14100000.00"


def test_an_applicant_drafts_uploads_and_submits(client: Client, dave: User) -> None:
    call = open_call()
    signed_in(client, "dave")
    created = post(client, f"/api/calls/{call.pk}/applications", draft_body())
    assert created.status_code == 201, created.content
    application = created.json()
    assert application["reference"] == f"{call.code.upper()}-0001"
    assert application["requested"] == "200000.00"
    upload = client.post(
        f"/api/applications/{application['id']}/files/plan",
        {"file": _file("申报书.pdf", PDF)},
    )
    assert upload.status_code == 200, upload.content
    assert upload.json()["files"][0]["name"] == "申报书.pdf"
    submitted = post(client, f"/api/applications/{application['id']}/submit")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == Status.SUBMITTED


def _file(name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_submitting_an_incomplete_draft_answers_422_with_every_field_error(
    client: Client, dave: User
) -> None:
    call = open_call()
    signed_in(client, "dave")
    created = post(client, f"/api/calls/{call.pk}/applications", {"requested": "210000"})
    response = post(client, f"/api/applications/{created.json()['id']}/submit")
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"summary", "start", "plan", "title", "field", "budget.total"} <= fields
    assert all(e["message_zh"] and e["message_en"] for e in response.json()["errors"])


def test_a_png_posing_as_a_pdf_is_refused_with_422(client: Client, dave: User) -> None:
    call = open_call()
    signed_in(client, "dave")
    created = post(client, f"/api/calls/{call.pk}/applications", draft_body())
    response = client.post(
        f"/api/applications/{created.json()['id']}/files/plan", {"file": _file("plan.pdf", PNG)}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "plan"


def test_a_draft_is_patched_and_another_applicant_cannot_see_it(
    client: Client, dave: User, erin: User
) -> None:
    call = open_call()
    signed_in(client, "dave")
    created = post(client, f"/api/calls/{call.pk}/applications", {"title": "初稿"})
    url = f"/api/applications/{created.json()['id']}"
    patched = client.patch(url, json.dumps({"title": "定稿"}), content_type="application/json")
    assert patched.json()["title"] == "定稿"
    client.logout()
    signed_in(client, "erin")
    assert client.get(url).status_code == 404
    assert client.patch(url, "{}", content_type="application/json").status_code == 404


def test_a_closed_call_refuses_new_drafts_with_400(client: Client, dave: User) -> None:
    from wotu.programmes.tests.test_services import close

    call = open_call()
    close(call)
    response = post(signed_in(client, "dave"), f"/api/calls/{call.pk}/applications", {})
    assert response.status_code in (400, 404)  # a closed call is no longer shown to applicants


def test_the_officer_runs_the_formal_check_and_the_applicant_may_not(
    client: Client, dave: User, alice: User
) -> None:
    from wotu.programmes.services import application_submit
    from wotu.programmes.tests.test_services import complete_draft

    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    url = f"/api/applications/{application.pk}/formal-check"
    assert post(signed_in(client, "dave"), url, {"outcome": "pass"}).status_code == 403
    client.logout()
    signed_in(client, "alice")
    refused = post(client, url, {"outcome": "return"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "note"
    passed = post(client, url, {"outcome": "pass"})
    assert passed.status_code == 200
    assert (passed.json()["status"], passed.json()["stage"]) == ("in_review", "professional")


def test_the_applicant_withdraws_and_a_second_withdrawal_is_refused(
    client: Client, dave: User
) -> None:
    call = open_call()
    signed_in(client, "dave")
    created = post(client, f"/api/calls/{call.pk}/applications", {"title": "x"})
    url = f"/api/applications/{created.json()['id']}/withdraw"
    assert post(client, url, {"reason": "重复申报"}).json()["status"] == "withdrawn"
    again = post(client, url)
    assert again.status_code == 400
    assert "no longer be withdrawn" in again.json()["detail_en"]


def test_a_bank_officer_lists_no_applications(client: Client, frank: User) -> None:
    assert signed_in(client, "frank").get("/api/applications").status_code == 403


def test_a_finance_officer_reads_every_application_of_a_call(
    client: Client, bob: User, dave: User, erin: User, hkust: Organisation
) -> None:
    from wotu.programmes.services import application_draft_save

    call = open_call()
    application_draft_save(actor=dave, call=call, title="a")
    application_draft_save(actor=erin, call=call, title="b")
    body = signed_in(client, "bob").get(f"/api/applications?call_id={call.pk}").json()
    assert sorted(a["title"] for a in body) == ["a", "b"]
