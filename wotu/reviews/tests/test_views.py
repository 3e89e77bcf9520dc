"""The review screens through the test client: the officer's pool, stage and conflicts pages,
and the expert's declaration, application and scoring pages."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from wotu.conftest import _user
from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Attachment
from wotu.reviews.models import Assignment, AssignmentStatus, Conflict, ConflictSource, Expert
from wotu.reviews.services import assignment_declare, stage_assign
from wotu.reviews.tests.test_stages import (
    affirm_and_score_all,
    expert_make,
    expert_users,
    org_make,
    review_call,
)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def english(client: Client) -> Client:
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


# -- the pool ----------------------------------------------------------------------------------


def test_the_pool_lists_experts_and_filters_by_field_and_region(alice: User) -> None:
    expert_make(code="E-EL", fields=("electronics",))
    expert_make(code="E-BIO", fields=("biomedicine", "ht_bio"))
    expert_make(code="E-HK", fields=("electronics",), region="HK", admitted=False)
    client = signed_in(alice)

    def codes(response: Any) -> list[str]:
        return [e.code for e in response.context["page"].object_list]

    assert codes(client.get("/reviews/experts/")) == ["E-BIO", "E-EL", "E-HK"]
    assert codes(client.get("/reviews/experts/?field=electronics")) == ["E-EL", "E-HK"]
    assert codes(client.get("/reviews/experts/?region=HK")) == ["E-HK"]
    assert codes(client.get("/reviews/experts/?field=ht_bio&active=yes")) == ["E-BIO"]
    assert "Awaiting admission" in english(client).get("/reviews/experts/").content.decode()


def test_an_officer_adds_an_expert_with_taxonomy_fields(alice: User, haina: Organisation) -> None:
    client = signed_in(alice)
    response = client.post(
        "/reviews/experts/new/",
        {"code": "E100", "name": "王工", "organisation": haina.pk, "region": "CN",
         "fields_": ["machinery", "ht_manufacturing"], "active": "on"},
    )  # fmt: skip
    expert = Expert.objects.get(code="E100")
    assert response.status_code == 302 and response["Location"] == f"/reviews/experts/{expert.pk}/"
    assert expert.fields == ["machinery", "ht_manufacturing"] and expert.in_pool


def test_adding_an_expert_with_a_taken_number_shows_the_refusal(
    alice: User, haina: Organisation
) -> None:
    expert_make(code="E100")
    client = english(signed_in(alice))
    response = client.post(
        "/reviews/experts/new/",
        {"code": "E100", "name": "王工", "organisation": haina.pk, "region": "CN",
         "fields_": ["machinery"]},
    )  # fmt: skip
    assert response.status_code == 400
    assert "expert number E100 is already taken" in response.content.decode()


def test_an_officer_edits_an_expert(alice: User, haina: Organisation) -> None:
    expert = expert_make(fields=("electronics",))
    response = signed_in(alice).post(
        f"/reviews/experts/{expert.pk}/",
        {"name": "新名字", "organisation": haina.pk, "region": "CN", "fields_": ["energy"],
         "max_load": "4"},
    )  # fmt: skip
    expert.refresh_from_db()
    assert response.status_code == 302
    assert (expert.name, expert.fields, expert.max_load, expert.active) == (
        "新名字", ["energy"], 4, False,
    )  # fmt: skip


def test_the_admission_checklist_names_what_is_missing_then_admits(
    alice: User, hkust: Organisation
) -> None:
    expert = expert_make(organisation=hkust, region="HK", admitted=False)
    client = english(signed_in(alice))
    response = client.post(f"/reviews/experts/{expert.pk}/admit/", {"conditions": ["identity"]})
    assert response.status_code == 400
    assert "Has no record of research misconduct" in response.content.decode()
    everything = ["identity", "senior_title", "confidentiality", "mainland_rules", "integrity"]
    response = client.post(f"/reviews/experts/{expert.pk}/admit/", {"conditions": everything})
    expert.refresh_from_db()
    assert response.status_code == 302 and expert.in_pool


# -- a stage -----------------------------------------------------------------------------------


@pytest.fixture
def stage_setup(alice: User, haina: Organisation, jiaodong: Organisation) -> tuple:  # type: ignore[type-arg]
    call, stage, apps = review_call(applicants=[haina, jiaodong], panel=2)
    return call, stage, apps


def test_the_stage_page_runs_the_assignment_and_shows_progress_counts_only(
    alice: User,
    stage_setup: tuple,  # type: ignore[type-arg]
) -> None:
    _, stage, _ = stage_setup
    expert_users(3)
    client = english(signed_in(alice))
    response = client.post(f"/reviews/stages/{stage.pk}/assign/", {"seed": "3"})
    assert response.status_code == 302
    page = client.get(f"/reviews/stages/{stage.pk}/").content.decode()
    assert "Awaiting declaration" in page and "seed 3" in page
    assert "Individual scores stay hidden" in page


def test_an_impossible_assignment_shows_the_diagnosis_on_the_stage_page(
    alice: User,
    stage_setup: tuple,  # type: ignore[type-arg]
) -> None:
    _, stage, apps = stage_setup
    expert_users(1)
    response = english(signed_in(alice)).post(f"/reviews/stages/{stage.pk}/assign/", {"seed": "0"})
    assert response.status_code == 400
    body = response.content.decode()
    assert f"application {apps[0].reference} needs 2 experts" in body
    assert 'data-testid="diagnosis"' in body


def test_closing_too_early_says_how_many_scores_are_missing(
    alice: User,
    stage_setup: tuple,  # type: ignore[type-arg]
) -> None:
    _, stage, _ = stage_setup
    expert_users(2)
    stage_assign(stage=stage, actor=alice)
    response = english(signed_in(alice)).post(f"/reviews/stages/{stage.pk}/close/")
    assert response.status_code == 400
    assert "still has 4 unscored assignment" in response.content.decode()


def test_a_closed_stage_shows_the_results_table_with_rank_and_pass_line(
    alice: User,
    stage_setup: tuple,  # type: ignore[type-arg]
) -> None:
    _, stage, apps = stage_setup
    expert_users(2)
    stage_assign(stage=stage, actor=alice)
    affirm_and_score_all(stage)
    client = english(signed_in(alice))
    assert client.post(f"/reviews/stages/{stage.pk}/close/").status_code == 302
    page = client.get(f"/reviews/stages/{stage.pk}/").content.decode()
    assert 'data-testid="results"' in page and "pass line" in page
    assert apps[0].reference in page


def test_the_conflicts_page_lists_detections_and_an_officer_dismisses_with_a_reason(
    alice: User,
    stage_setup: tuple,  # type: ignore[type-arg]
) -> None:
    _, stage, apps = stage_setup
    partner = org_make("合作大学")
    apps[0].partners.add(partner)
    expert = expert_make(organisation=partner)
    client = english(signed_in(alice))
    client.post(f"/reviews/stages/{stage.pk}/conflicts/")
    conflict = Conflict.objects.get(expert=expert)
    page = client.get(f"/reviews/stages/{stage.pk}/conflicts/").content.decode()
    assert conflict.get_source_display() in page
    response = client.post(f"/reviews/conflicts/{conflict.pk}/dismiss/", {"reason": ""})
    assert response.status_code == 400
    response = client.post(
        f"/reviews/conflicts/{conflict.pk}/dismiss/", {"reason": "合作已于2019年结束"}
    )
    conflict.refresh_from_db()
    assert response.status_code == 302 and not conflict.active


# -- the expert portal ---------------------------------------------------------------------------


@pytest.fixture
def carol_assigned(alice: User, carol: User, haina: Organisation) -> Assignment:
    """carol is an expert with one assignment on Haina's application."""
    _, stage, _ = review_call(applicants=[haina], panel=1)
    expert_make(user=carol, code="E-CAROL")
    stage_assign(stage=stage, actor=alice)
    return Assignment.objects.get(stage=stage)


def test_before_affirming_the_expert_sees_only_title_field_and_lead_organisation(
    carol: User, carol_assigned: Assignment
) -> None:
    app = carol_assigned.application
    app.answers = {"summary": "SECRET-SUMMARY"}
    app.save()
    client = signed_in(carol)
    page = client.get(f"/reviews/assignments/{carol_assigned.pk}/").content.decode()
    assert app.title in page and app.organisation.name in page
    assert "SECRET-SUMMARY" not in page and "200,000" not in page
    assert client.get(f"/reviews/assignments/{carol_assigned.pk}/application/").status_code == 404
    assert client.get(f"/reviews/assignments/{carol_assigned.pk}/score/").status_code == 404


def test_after_affirming_the_expert_reads_the_application_downloads_files_and_scores(
    carol: User, carol_assigned: Assignment, settings: Any, tmp_path: Path
) -> None:
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    app = carol_assigned.application
    app.answers = {"summary": "FULL-SUMMARY"}
    app.save()
    attachment = Attachment(application=app, field="plan", original_name="plan.pdf", kind="pdf",
                            content_type="application/pdf", size=8, sha256="0" * 64)  # fmt: skip
    attachment.file.save("plan.pdf", ContentFile(b"%PDF-1.4"), save=True)
    client = signed_in(carol)
    response = client.post(
        f"/reviews/assignments/{carol_assigned.pk}/", {"declaration": "none", "reason": ""}
    )
    assert response["Location"] == f"/reviews/assignments/{carol_assigned.pk}/application/"
    page = client.get(response["Location"]).content.decode()
    assert "FULL-SUMMARY" in page and "plan.pdf" in page
    download = client.get(f"/reviews/assignments/{carol_assigned.pk}/files/{attachment.pk}/")
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert download.status_code == 200 and body == b"%PDF-1.4"
    marks = {"mark_innovation": "80", "mark_feasibility": "70", "mark_team": "90"}
    response = client.post(f"/reviews/assignments/{carol_assigned.pk}/score/", marks)
    assert response.status_code == 302
    carol_assigned.refresh_from_db()
    assert carol_assigned.status == AssignmentStatus.SCORED
    assert carol_assigned.score.total == Decimal("80.00")


def test_a_mark_out_of_range_is_refused_on_the_form(
    carol: User, carol_assigned: Assignment
) -> None:
    assert carol.expert is not None
    assignment_declare(assignment=carol_assigned, expert_user=carol, no_conflict=True)
    marks = {"mark_innovation": "180", "mark_feasibility": "70", "mark_team": "90"}
    response = signed_in(carol).post(f"/reviews/assignments/{carol_assigned.pk}/score/", marks)
    assert response.status_code == 400


def test_declining_without_a_reason_is_refused_and_with_one_releases_the_expert(
    carol: User, carol_assigned: Assignment
) -> None:
    client = english(signed_in(carol))
    response = client.post(
        f"/reviews/assignments/{carol_assigned.pk}/", {"declaration": "conflict", "reason": ""}
    )
    assert response.status_code == 400 and "needs a reason" in response.content.decode()
    response = client.post(
        f"/reviews/assignments/{carol_assigned.pk}/",
        {"declaration": "conflict", "reason": "I advise this company"},
    )
    assert response["Location"] == "/reviews/mine/"
    assert Conflict.objects.filter(source=ConflictSource.EXPERT_DECLARED).exists()


def test_my_assignments_lists_only_the_experts_own(
    alice: User, carol: User, carol_assigned: Assignment, jiaodong: Organisation
) -> None:
    _, other_stage, _ = review_call(applicants=[jiaodong], panel=1)
    other = expert_make(user=_user("olga", "expert"))
    other.organisation = carol_assigned.expert.organisation
    Expert.objects.filter(pk=carol_assigned.expert.pk).update(active=False)
    stage_assign(stage=other_stage, actor=alice)
    page = signed_in(carol).get("/reviews/mine/")
    assert [a.pk for a in page.context["page"].object_list] == [carol_assigned.pk]
    assert other_stage.assignments.get().expert == other
