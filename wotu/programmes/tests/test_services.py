"""Programmes, calls and applications through their services: who may do what, when, and every
way a draft or a submission is refused (all problems at once, in Chinese and English)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Kind, Organisation, Region
from wotu.programmes.models import Application, Call, CallStatus, Stage, StageKind, Status
from wotu.programmes.services import (
    Invalid,
    application_draft_save,
    application_formal_check,
    application_submit,
    application_withdraw,
    call_close,
    call_create,
    call_open,
    programme_create,
    who_may_apply_problems,
)
from wotu.programmes.tests.factories import (
    BUDGET_LINES,
    FORM,
    PIPELINE,
    RUBRIC,
    call_make,
    first_scored_stage,
    programme_make,
)
from wotu.programmes.workflow import IllegalTransition

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BUDGET = {"equipment": "100000.00", "staff": "80000.00", "other": "20000.00"}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def pdf(name: str = "申报书.pdf", data: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def open_call(**programme: Any) -> Call:
    """A call of a fresh programme that opened yesterday and closes in 30 days."""
    now = timezone.now()
    return call_make(
        programme=programme_make(**programme),
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=30),
    )


def complete_draft(user: User, call: Call, **overrides: Any) -> Application:
    values: dict[str, Any] = {
        "title": "工业机器人关节减速器",
        "field": "machinery",
        "answers": {"summary": "高精度 RV 减速器的国产化。", "start": "2026-06-01"},
        "budget": BUDGET,
        "requested": "200000.00",
        "files": {"plan": pdf()},
    }
    values.update(overrides)
    return application_draft_save(actor=user, call=call, **values)


def close(call: Call) -> None:
    """Move the call's window into the past (as if the deadline passed)."""
    now = timezone.now()
    Call.objects.filter(pk=call.pk).update(
        opens_at=now - dt.timedelta(days=40), closes_at=now - dt.timedelta(minutes=1)
    )
    call.refresh_from_db()


def fields_of(exc: pytest.ExceptionInfo[Invalid]) -> set[str]:
    return {error.field for error in exc.value.errors}


# --- programmes and calls ---------------------------------------------------------------------


def programme_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "code": "qz-talent-2026", "title": "泉州人才创新项目", "title_en": "Quanzhou talent",
        "year": 2026, "budget": Decimal("14100000.00"), "max_award": Decimal("500000.00"),
        "kinds": ["enterprise"], "regions": ["CN"], "pipeline": PIPELINE, "form": FORM,
        "budget_lines": BUDGET_LINES, "eligibility": ["registered_in_city"],
    }  # fmt: skip
    values.update(overrides)
    return values


def test_an_officer_creates_a_programme_and_the_event_is_audited(alice: User) -> None:
    programme = programme_create(actor=alice, **programme_values())
    assert programme.pipeline[0]["kind"] == "professional"
    assert AuditEvent.objects.filter(action="programme.create", actor=alice).count() == 1


def test_a_programme_with_several_problems_reports_them_all_and_is_not_saved(alice: User) -> None:
    bad_rubric = [dict(RUBRIC[0], weight="0.5"), *RUBRIC[1:]]  # weights add up to 1.1
    pipeline = [
        {"kind": "defence", "panel_size": 3, "max_load": 5, "rubric": RUBRIC,
         "pass_rule": {"top_share": 0.5}},
        {"kind": "professional", "panel_size": 0, "max_load": 5, "rubric": bad_rubric,
         "pass_rule": {"top_share": 0.5}},
    ]  # fmt: skip
    with pytest.raises(Invalid) as exc:
        programme_create(
            actor=alice,
            **programme_values(pipeline=pipeline, eligibility=["nonsense"], kinds=["bank"]),
        )
    messages = " ".join(e.message_en for e in exc.value.errors)
    assert "out of order" in messages
    assert "experts per application" in messages
    assert "weights" in messages or "1.1" in messages
    assert {"eligibility", "kinds"} <= fields_of(exc)
    assert "次序不对" in exc.value.zh
    assert not exc.value.errors[0].message_zh.isascii()


@pytest.mark.parametrize(
    "pipeline",
    [
        [{"kind": "notice"}, {"kind": "committee"}],  # nothing is scored
        [{"kind": "professional", "panel_size": 3, "max_load": 5, "rubric": RUBRIC,
          "pass_rule": {}}],  # no pass rule
        [{"kind": "professional", "panel_size": 3, "max_load": 5, "rubric": RUBRIC,
          "pass_rule": {"top_n": 5}}, {"kind": "committee", "panel_size": 5}],
        [{"kind": "site", "panel_size": 2, "max_load": 5, "rubric": RUBRIC,
          "pass_rule": {"top_n": 5}, "exclude_experts_of": [1]}],  # no earlier stage
    ],
)  # fmt: skip
def test_a_programme_pipeline_that_cannot_run_is_refused(
    alice: User, pipeline: list[dict[str, Any]]
) -> None:
    with pytest.raises(Invalid) as exc:
        programme_create(actor=alice, **programme_values(pipeline=pipeline))
    assert any(e.field.startswith("pipeline") for e in exc.value.errors)


def test_a_pipeline_may_skip_stages_but_keeps_their_order(alice: User) -> None:
    pipeline = [PIPELINE[0], PIPELINE[3], PIPELINE[4]]
    assert programme_create(actor=alice, **programme_values(pipeline=pipeline)).pk


def test_a_programme_without_a_pipeline_funds_policy_awards_but_opens_no_call(
    alice: User,
) -> None:
    # given a direct-award programme (its awards come from a policy run, not from calls)
    programme = programme_create(actor=alice, **programme_values(pipeline=[], form=[]))
    # when a call is created for it, then it is refused: a call needs a review pipeline
    opens = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    with pytest.raises(Invalid) as exc:
        call_create(
            actor=alice, programme=programme, code="direct-call", title="x", title_en="x",
            opens_at=opens, closes_at=opens + dt.timedelta(days=3),
        )  # fmt: skip
    assert "pipeline" in fields_of(exc)
    assert not Call.objects.filter(code="direct-call").exists()


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_bureau_officers_create_programmes(
    request: pytest.FixtureRequest, persona: str
) -> None:
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        programme_create(actor=user, **programme_values())


def test_a_call_copies_the_programme_pipeline_into_its_own_stages(alice: User) -> None:
    programme = programme_make()
    opens = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    call = call_create(
        actor=alice, programme=programme, code="qz2026", title="2026 年申报",
        title_en="2026 call", opens_at=opens, closes_at=opens + dt.timedelta(days=30),
    )  # fmt: skip
    kinds = list(call.stages.order_by("order").values_list("kind", flat=True))
    assert kinds == ["professional", "defence", "site", "notice", "committee"]
    assert call.stages.get(order=3).exclude_experts_of == [1]
    programme.pipeline = PIPELINE[:1]
    programme.save()
    assert call.stages.count() == 5
    assert call.status == CallStatus.DRAFT


def test_a_call_that_closes_before_it_opens_is_refused(alice: User) -> None:
    opens = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    with pytest.raises(Invalid) as exc:
        call_create(
            actor=alice, programme=programme_make(), code="qz2026", title="x", title_en="x",
            opens_at=opens, closes_at=opens,
        )  # fmt: skip
    assert fields_of(exc) == {"closes_at"}
    assert "2026-03-01 17:00" in exc.value.zh  # shown in Beijing time
    assert not Call.objects.filter(code="qz2026").exists()


def test_a_call_opens_then_closes_and_cannot_reopen(alice: User) -> None:
    call = call_make(status=CallStatus.DRAFT)
    assert call_open(actor=alice, call=call).status == CallStatus.OPEN
    assert call_close(actor=alice, call=call).status == CallStatus.REVIEW
    with pytest.raises(WotuError, match="cannot become open"):
        call_open(actor=alice, call=call)


# --- drafts -----------------------------------------------------------------------------------


def test_an_applicant_saves_drafts_numbered_per_call(dave: User, erin: User) -> None:
    call = open_call()
    first = application_draft_save(actor=dave, call=call, title="减速器")
    second = application_draft_save(actor=erin, call=call, title="多肽")
    prefix = call.code.upper()
    assert (first.reference, second.reference) == (f"{prefix}-0001", f"{prefix}-0002")
    assert first.status == Status.DRAFT
    assert first.organisation.name == "海纳机器人有限公司"


def test_a_draft_keeps_what_was_not_sent_again(dave: User) -> None:
    call = open_call()
    draft = application_draft_save(actor=dave, call=call, title="减速器",
                                   answers={"summary": "第一版"})  # fmt: skip
    application_draft_save(
        actor=dave, call=call, application=draft, answers={"start": "2026-06-01"}
    )
    draft.refresh_from_db()
    assert draft.answers == {"summary": "第一版", "start": "2026-06-01"}
    assert draft.title == "减速器"


def test_a_pdf_is_stored_under_its_digest_with_its_name_kept_for_display(dave: User) -> None:
    application = complete_draft(dave, open_call())
    attachment = application.files.get(field="plan")
    assert attachment.original_name == "申报书.pdf"
    assert attachment.kind == "pdf"
    stored = str(attachment.file.name)
    assert stored.endswith(f"{attachment.sha256}.pdf")
    assert "申报书" not in stored


@pytest.mark.parametrize(
    ("upload", "said"),
    [
        (pdf("plan.pdf", PNG), "is named .pdf"),
        (SimpleUploadedFile("plan.exe", b"MZ\x90\x00" + b"\x00" * 60), ".exe"),
        (SimpleUploadedFile("plan.png", PNG), "must be a PDF"),
        (SimpleUploadedFile("plan.pdf", b""), "empty"),
    ],
)
def test_a_bad_attachment_is_refused_and_nothing_is_saved(
    dave: User, upload: SimpleUploadedFile, said: str
) -> None:
    call = open_call()
    with pytest.raises(Invalid) as exc:
        application_draft_save(actor=dave, call=call, title="减速器", files={"plan": upload})
    assert fields_of(exc) == {"plan"}
    assert said in exc.value.en
    assert not Application.objects.filter(call=call).exists()


def test_a_draft_with_a_wrong_value_is_not_saved_and_says_where(dave: User) -> None:
    call = open_call()
    with pytest.raises(Invalid) as exc:
        application_draft_save(
            actor=dave, call=call, answers={"start": "31/02/2026"}, field="astrology",
            budget={"equipment": "-5"},
        )  # fmt: skip
    assert fields_of(exc) == {"start", "field", "budget.equipment"}
    assert not Application.objects.exists()


def test_drafts_are_refused_before_the_call_opens_and_after_it_closes(dave: User) -> None:
    call = open_call()
    Call.objects.filter(pk=call.pk).update(opens_at=timezone.now() + dt.timedelta(days=1))
    call.refresh_from_db()
    with pytest.raises(WotuError, match="opens at"):
        application_draft_save(actor=dave, call=call, title="x")
    close(call)
    with pytest.raises(WotuError, match="closed at") as exc:
        application_draft_save(actor=dave, call=call, title="x")
    assert "北京时间" in exc.value.zh


def test_a_draft_on_a_call_not_yet_opened_by_the_bureau_is_refused(dave: User) -> None:
    call = open_call()
    Call.objects.filter(pk=call.pk).update(status=CallStatus.DRAFT)
    call.refresh_from_db()
    with pytest.raises(WotuError):
        application_draft_save(actor=dave, call=call, title="x")


def test_only_the_lead_applicant_changes_a_draft(dave: User, erin: User, alice: User) -> None:
    draft = application_draft_save(actor=dave, call=open_call(), title="减速器")
    for other in (erin, alice):
        with pytest.raises(PermissionDenied):
            application_draft_save(actor=other, call=draft.call, application=draft, title="mine")
    draft.refresh_from_db()
    assert draft.title == "减速器"


def test_a_submitted_application_can_no_longer_be_changed(dave: User) -> None:
    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    with pytest.raises(WotuError, match="only drafts"):
        application_draft_save(actor=dave, call=application.call, application=application,
                               title="changed")  # fmt: skip


def test_the_lead_cannot_also_be_a_partner(
    dave: User, haina: Organisation, hkust: Organisation
) -> None:
    call = open_call()
    with pytest.raises(Invalid) as exc:
        application_draft_save(actor=dave, call=call, partners=[haina.pk, hkust.pk])
    assert fields_of(exc) == {"partners"}


# --- submission -------------------------------------------------------------------------------


def test_a_complete_draft_is_submitted_and_audited(dave: User) -> None:
    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    assert application.status == Status.SUBMITTED
    assert application.submitted_at is not None
    assert AuditEvent.objects.filter(action="application.status").count() == 1


def test_an_empty_draft_gets_every_problem_at_once(dave: User) -> None:
    draft = application_draft_save(actor=dave, call=open_call())
    with pytest.raises(Invalid) as exc:
        application_submit(actor=dave, application=draft)
    assert {"summary", "start", "plan", "title", "field", "budget.total"} <= fields_of(exc)
    assert "「项目摘要」为必填项" in exc.value.zh
    assert "'Summary' is required" in exc.value.en
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_a_budget_that_does_not_add_up_is_refused_with_both_sums(dave: User) -> None:
    draft = complete_draft(dave, open_call(), requested="210000.00")
    with pytest.raises(Invalid) as exc:
        application_submit(actor=dave, application=draft)
    [error] = exc.value.errors
    assert (error.field, error.code) == ("budget.total", "sum")
    assert "200,000.00" in error.message_en and "210,000.00" in error.message_en


def test_a_request_above_the_programme_maximum_is_refused(dave: User) -> None:
    call = open_call(max_award=Decimal("150000.00"))
    with pytest.raises(Invalid) as exc:
        complete_draft(dave, call)
    assert fields_of(exc) == {"budget.total"}
    assert "exceeds the programme's maximum" in exc.value.en


def test_an_organisation_of_the_wrong_kind_may_not_apply(dave: User) -> None:
    draft = complete_draft(dave, open_call(kinds=["university", "institute"]))
    with pytest.raises(Invalid) as exc:
        application_submit(actor=dave, application=draft)
    assert fields_of(exc) == {"organisation"}
    assert "只接受高校、科研院所" in exc.value.zh


def hk_applicant(hkust: Organisation) -> User:
    from wotu.conftest import _user
    from wotu.core.models import Role

    return _user("henry", Role.APPLICANT, hkust)


def test_a_hong_kong_lead_is_refused_when_the_programme_wants_mainland_leads(
    hkust: Organisation,
) -> None:
    henry = hk_applicant(hkust)
    draft = complete_draft(henry, open_call(hkmo_may_lead=False))
    with pytest.raises(Invalid) as exc:
        application_submit(actor=henry, application=draft)
    assert "may not lead" in exc.value.en


def test_a_hong_kong_university_may_lead_a_joint_programme(hkust: Organisation) -> None:
    henry = hk_applicant(hkust)
    draft = complete_draft(henry, open_call(hkmo_may_lead=True, eligibility=["hkmo_university"]))
    assert application_submit(actor=henry, application=draft).status == Status.SUBMITTED


def test_an_organisation_from_a_region_not_invited_may_not_apply(
    dave: User, hkust: Organisation
) -> None:
    draft = complete_draft(dave, open_call(regions=["CN"]), partners=[hkust.pk])
    with pytest.raises(Invalid) as exc:
        application_submit(actor=dave, application=draft)
    assert fields_of(exc) == {"partners"}
    assert "from Hong Kong" in exc.value.en


def test_an_applicant_sees_which_eligibility_rule_failed_and_why(erin: User) -> None:
    draft = complete_draft(erin, open_call(eligibility=["tech_sme", "hitech_valid"]))
    with pytest.raises(Invalid) as exc:
        application_submit(actor=erin, application=draft)
    assert fields_of(exc) == {"eligibility.hitech_valid"}
    assert "valid high-tech enterprise" in exc.value.en
    assert "no high-tech enterprise certificate" in exc.value.en


def test_a_draft_cannot_be_submitted_after_the_deadline(dave: User) -> None:
    draft = complete_draft(dave, open_call())
    close(draft.call)
    draft.refresh_from_db()
    with pytest.raises(WotuError, match="closed at"):
        application_submit(actor=dave, application=draft)


def test_a_returned_application_is_corrected_and_resubmitted_after_the_deadline(
    dave: User, alice: User
) -> None:
    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    application_formal_check(application=application, actor=alice, outcome="return",
                             note="请补充盖章页")  # fmt: skip
    close(application.call)
    call_close(actor=alice, call=application.call)
    application.refresh_from_db()
    application_draft_save(actor=dave, call=application.call, application=application,
                           files={"plan": pdf("盖章版.pdf")})  # fmt: skip
    resubmitted = application_submit(actor=dave, application=application)
    assert resubmitted.status == Status.SUBMITTED
    assert resubmitted.files.get().original_name == "盖章版.pdf"


def test_an_applicant_cannot_submit_another_organisations_application(
    dave: User, erin: User
) -> None:
    draft = complete_draft(dave, open_call())
    with pytest.raises(PermissionDenied):
        application_submit(actor=erin, application=draft)


# --- withdrawal and the formal check ----------------------------------------------------------


def test_the_applicant_withdraws_its_own_open_application(dave: User) -> None:
    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    withdrawn = application_withdraw(actor=dave, application=application, reason="团队变动")
    assert withdrawn.status == Status.WITHDRAWN


def test_a_decided_application_cannot_be_withdrawn(dave: User) -> None:
    application = complete_draft(dave, open_call())
    Application.objects.filter(pk=application.pk).update(status=Status.FUNDED)
    application.refresh_from_db()
    with pytest.raises(WotuError, match="can no longer be withdrawn"):
        application_withdraw(actor=dave, application=application)


def test_another_organisation_cannot_withdraw_it(dave: User, erin: User) -> None:
    application = complete_draft(dave, open_call())
    with pytest.raises(PermissionDenied):
        application_withdraw(actor=erin, application=application)


def test_passing_the_formal_check_starts_review_at_the_first_scored_stage(
    dave: User, alice: User
) -> None:
    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    passed = application_formal_check(application=application, actor=alice, outcome="pass")
    assert passed.status == Status.IN_REVIEW
    assert passed.stage == first_scored_stage(passed.call)


def test_formal_check_starts_at_defence_when_the_pipeline_has_no_professional_stage(
    dave: User, alice: User
) -> None:
    call = open_call(pipeline=[PIPELINE[1], PIPELINE[4]])
    application = application_submit(actor=dave, application=complete_draft(dave, call))
    passed = application_formal_check(application=application, actor=alice, outcome="pass")
    assert passed.stage is not None
    stage = Stage.objects.get(pk=passed.stage.pk)
    assert stage.kind == StageKind.DEFENCE


@pytest.mark.parametrize(("outcome", "status"), [("return", Status.RETURNED),
                                                 ("reject", Status.REJECTED)])  # fmt: skip
def test_returning_or_rejecting_needs_a_note_the_applicant_reads(
    dave: User, alice: User, outcome: str, status: Status
) -> None:
    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    with pytest.raises(Invalid) as exc:
        application_formal_check(application=application, actor=alice, outcome=outcome, note=" ")
    assert fields_of(exc) == {"note"}
    checked = application_formal_check(application=application, actor=alice, outcome=outcome,
                                       note="预算表缺少盖章")  # fmt: skip
    assert (checked.status, checked.feedback) == (status, "预算表缺少盖章")


def test_a_draft_cannot_be_formally_checked(dave: User, alice: User) -> None:
    draft = complete_draft(dave, open_call())
    with pytest.raises(IllegalTransition):
        application_formal_check(application=draft, actor=alice, outcome="pass")


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_bureau_officers_run_the_formal_check(
    request: pytest.FixtureRequest, dave: User, persona: str
) -> None:
    application = application_submit(actor=dave, application=complete_draft(dave, open_call()))
    with pytest.raises(PermissionDenied):
        application_formal_check(
            application=application, actor=request.getfixturevalue(persona), outcome="pass"
        )
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


# --- who may apply, as a property -------------------------------------------------------------

REGION_VALUES = [Region.MAINLAND, Region.HONG_KONG, Region.MACAO]


@given(
    region=st.sampled_from(REGION_VALUES),
    regions=st.lists(st.sampled_from(REGION_VALUES), min_size=1, unique=True),
    hkmo_may_lead=st.booleans(),
)
def test_a_lead_is_accepted_exactly_when_its_region_is_invited_and_may_lead(
    region: str, regions: list[str], hkmo_may_lead: bool
) -> None:
    from wotu.programmes.models import Programme

    programme = Programme(kinds=["university"], regions=regions, hkmo_may_lead=hkmo_may_lead)
    lead = Organisation(kind=Kind.UNIVERSITY, region=region, name="某大学")
    accepted = not who_may_apply_problems(programme=programme, organisation=lead)
    assert accepted == (region in regions and (region == Region.MAINLAND or hkmo_may_lead))
