"""What a challenge task keeps on record for the team: the proposal document uploaded with the
bid (checked like any application's attachment) and the officer's reason on each milestone
decision, both shown on the bid's page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.programmes.challenges import (
    challenge_bid_submit,
    challenge_select,
    milestone_decide,
    milestone_plan_set,
    milestone_submit,
)
from wotu.programmes.models import Application, ChallengeTask, Milestone, MilestoneStatus
from wotu.programmes.services import Invalid
from wotu.programmes.tests.test_challenges import (
    PLAN,
    bid,
    challenge_programme,
    post,
    reviewed,
)
from wotu.programmes.tests.test_services import PDF, PNG

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _bid_with_file(task: ChallengeTask, user: User, upload: SimpleUploadedFile) -> Application:
    return challenge_bid_submit(
        task=task, actor=user, title="海洋巡检方案", field="machinery",
        proposal="双体无人船搭载水下机器人。", team="工程师 12 名。", price="2000000",
        proposal_file=upload,
    )  # fmt: skip


# -- the proposal document ---------------------------------------------------------------------


def test_a_bid_keeps_its_proposal_pdf_as_a_checked_attachment(alice: User, dave: User) -> None:
    task = post(alice)
    submitted = _bid_with_file(
        task, dave, SimpleUploadedFile("方案.pdf", PDF, content_type="application/pdf")
    )
    attachment = submitted.files.get(field="proposal_file")
    assert attachment.kind == "pdf" and attachment.original_name == "方案.pdf"
    assert attachment.size == len(PDF) and len(attachment.sha256) == 64
    # the team and the officer find it on the bid page and download it
    for user in (dave, alice):
        client = Client()
        client.force_login(user)
        page = client.get(f"/challenges/bids/{submitted.pk}/").content.decode()
        assert "方案.pdf" in page
        download = client.get(f"/programmes/applications/{submitted.pk}/files/proposal_file/")
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == PDF  # type: ignore[attr-defined]


def test_a_picture_named_pdf_is_refused_as_a_proposal_and_no_bid_is_saved(
    alice: User, dave: User
) -> None:
    task = post(alice)
    disguised = SimpleUploadedFile("方案.pdf", PNG, content_type="application/pdf")
    with pytest.raises(Invalid) as exc:
        _bid_with_file(task, dave, disguised)
    assert {e.field for e in exc.value.errors} == {"proposal_file"}
    assert not Application.objects.filter(call=task.call).exists()


def test_a_programme_whose_form_has_no_proposal_file_refuses_an_upload(
    alice: User, dave: User
) -> None:
    form = [spec for spec in challenge_programme().form if spec["name"] != "proposal_file"]
    task = post(alice, programme=challenge_programme(form=form))
    with pytest.raises(WotuError, match="no proposal file field"):
        _bid_with_file(
            task, dave, SimpleUploadedFile("方案.pdf", PDF, content_type="application/pdf")
        )


def test_the_bid_form_uploads_the_proposal_document(alice: User, erin: User) -> None:
    task = post(alice)
    client = Client()
    client.force_login(erin)
    page = client.get(f"/challenges/{task.pk}/bid/").content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="proposal_file"' in page
    response = client.post(
        f"/challenges/{task.pk}/bid/",
        {"title": "胶东方案", "field": "ht_bio", "proposal": "生物传感器阵列。",
         "team": "博士 3 名。", "price": "2000000",
         "proposal_file": SimpleUploadedFile("plan.pdf", PDF, content_type="application/pdf")},
    )  # fmt: skip
    created = Application.objects.get(title="胶东方案")
    assert response["Location"] == f"/challenges/bids/{created.pk}/"
    assert created.files.get(field="proposal_file").original_name == "plan.pdf"


# -- the reason on a milestone decision -------------------------------------------------------


@pytest.fixture
def submitted(alice: User, dave: User) -> Milestone:
    task = post(alice)
    winner = bid(task, dave, "1000000")
    reviewed(winner)
    challenge_select(task=task, actor=alice, application_ids=[winner.pk])
    first, *_ = milestone_plan_set(application=winner, actor=alice, milestones=PLAN)
    return milestone_submit(milestone=first, actor=dave, report="样机完成，附测试报告与视频。")


def test_a_rejected_milestone_keeps_the_reason_and_the_team_reads_it(
    submitted: Milestone, alice: User, dave: User
) -> None:
    milestone_decide(milestone=submitted, actor=alice, accept=False, note=" 检测报告缺少签章。 ")
    submitted.refresh_from_db()
    assert submitted.status == MilestoneStatus.REJECTED and submitted.note == "检测报告缺少签章。"
    client = Client()
    client.force_login(dave)
    page = client.get(f"/challenges/bids/{submitted.application_id}/").content.decode()
    assert "检测报告缺少签章。" in page and 'data-testid="milestone-note-1"' in page


def test_a_rejection_without_a_reason_changes_nothing(submitted: Milestone, alice: User) -> None:
    with pytest.raises(WotuError, match="reason"):
        milestone_decide(milestone=submitted, actor=alice, accept=False, note="   ")
    submitted.refresh_from_db()
    assert submitted.status == MilestoneStatus.SUBMITTED and submitted.note == ""


def test_an_acceptance_keeps_its_optional_note_and_replaces_an_earlier_reason(
    submitted: Milestone, alice: User, dave: User
) -> None:
    milestone_decide(milestone=submitted, actor=alice, accept=False, note="缺少签章。")
    milestone_submit(milestone=submitted, actor=dave, report="补充签章后的第三方检测报告。")
    milestone_decide(milestone=submitted, actor=alice, accept=True, note="资料齐全。")
    submitted.refresh_from_db()
    assert submitted.status == MilestoneStatus.ACCEPTED and submitted.note == "资料齐全。"


def test_the_officer_records_the_reason_through_the_bid_page(
    submitted: Milestone, alice: User
) -> None:
    client = Client()
    client.force_login(alice)
    client.post(
        f"/challenges/milestones/{submitted.pk}/decide/",
        {"decision": "reject", "note": "验收材料不完整。"},
    )
    submitted.refresh_from_db()
    assert submitted.note == "验收材料不完整。"
