"""Funding programmes, their calls, the applications to them, and challenge tasks (揭榜挂帅).

A programme is one year's funding scheme with a budget, who may apply, eligibility rules, an
application form (typed fields, see :mod:`wotu.programmes.formschema`), budget lines and a
default review pipeline. A call opens and closes applications at set times (Asia/Shanghai) and
owns its review stages (copied from the programme's pipeline when the call is created, so a
later change to the programme never rewrites a running review).

An application's ``status`` changes only through
:func:`wotu.programmes.services.application_transition`, which writes one audit event per change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wotu.core.money import money_field


def funding_default() -> dict[str, str]:
    """A new programme's funding rule: stop where the budget runs out, no partial funding."""
    return {"partial": "none"}


class Programme(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    budget = money_field(_("budget (CNY)"))
    max_award = money_field(_("maximum per application (CNY)"), null=True)
    #: Organisation kinds that may apply (``enterprise``, ``university``, ``institute``).
    kinds = models.JSONField(_("who may apply"), default=list)
    #: Regions that may apply (``CN``, ``HK``, ``MO``).
    regions = models.JSONField(_("regions"), default=list)
    hkmo_may_lead = models.BooleanField(_("HK/Macao organisations may lead"), default=False)
    #: Eligibility rule ids from :mod:`wotu.programmes.eligibility` (e.g. ``tech_sme``).
    eligibility = models.JSONField(_("eligibility rules"), default=list)
    #: Field specs, see :mod:`wotu.programmes.formschema`.
    form = models.JSONField(_("application form"), default=list)
    #: Budget lines ``[{code, label_zh, label_en}]``; an application's lines must add up.
    budget_lines = models.JSONField(_("budget lines"), default=list)
    #: Default review pipeline ``[{kind, panel_size, rubric, pass_rule, …}]`` copied to calls.
    pipeline = models.JSONField(_("review pipeline"), default=list)
    #: Where the budget runs out: ``{"partial": "none"|"skip"|"partial", "min_share": "0.5"}``,
    #: see :mod:`wotu.programmes.pipeline` (read when the last scored stage closes).
    funding = models.JSONField(_("funding rule"), default=funding_default)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["-year", "code"]

    def __str__(self) -> str:
        return f"{self.title} ({self.year})"


class CallStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Accepting applications")  # between opens_at and closes_at
    REVIEW = "review", _("In review")
    NOTICE = "notice", _("Public notice")
    DECIDED = "decided", _("Decided")


class Call(models.Model):
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="calls", verbose_name=_("programme")
    )
    code = models.SlugField(_("code"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("English title"), max_length=200)
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    status = models.CharField(
        _("status"), max_length=10, choices=CallStatus.choices, default=CallStatus.DRAFT
    )
    #: Years back that co-applicants/partners count as a conflict of interest.
    conflict_years = models.PositiveSmallIntegerField(_("conflict look-back (years)"), default=3)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-opens_at", "code"]
        constraints = [
            models.CheckConstraint(
                name="call_closes_after_it_opens",
                condition=models.Q(closes_at__gt=models.F("opens_at")),
            )
        ]

    def __str__(self) -> str:
        return self.title


class StageKind(models.TextChoices):
    PROFESSIONAL = "professional", _("Professional review")
    DEFENCE = "defence", _("Defence review")
    SITE = "site", _("Site inspection")
    NOTICE = "notice", _("Public notice")
    COMMITTEE = "committee", _("Committee decision")


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Not started")
    ASSIGNING = "assigning", _("Assigning experts")
    SCORING = "scoring", _("Scoring")
    CLOSED = "closed", _("Closed")


class Stage(models.Model):
    """One step of a call's review pipeline. Scored stages (professional, defence, site) have a
    panel and a rubric; the notice and committee stages have neither."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=12, choices=StageKind.choices)
    panel_size = models.PositiveSmallIntegerField(_("experts per application"), default=0)
    max_load = models.PositiveSmallIntegerField(_("maximum applications per expert"), default=0)
    min_hkmo = models.PositiveSmallIntegerField(
        _("HK/Macao experts on cross-border applications"), default=0
    )
    #: ``[{code, label_zh, label_en, weight, min, max}]`` see :mod:`wotu.reviews.scoring`.
    rubric = models.JSONField(_("rubric"), default=list)
    #: e.g. ``{"top_share": 0.5}``, ``{"min_score": 60, "top_n": 100}``.
    pass_rule = models.JSONField(_("pass rule"), default=dict)
    normalise = models.BooleanField(_("normalise per expert (z-score)"), default=False)
    #: Orders of earlier stages whose experts may not sit on this stage for the same application
    #: (the cross-stage rule: site-inspection experts did not score it at the professional stage).
    exclude_experts_of = models.JSONField(_("exclude experts of stages"), default=list)
    status = models.CharField(
        _("status"), max_length=10, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("review stage")
        verbose_name_plural = _("review stages")
        ordering = ["call", "order"]
        constraints = [
            models.UniqueConstraint(fields=["call", "order"], name="stage_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.call} · {self.order}. {self.get_kind_display()}"

    @property
    def is_scored(self) -> bool:
        return self.kind in (StageKind.PROFESSIONAL, StageKind.DEFENCE, StageKind.SITE)


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for correction")
    REJECTED = "rejected", _("Rejected at formal check")
    IN_REVIEW = "in_review", _("In review")
    NOT_PASSED = "not_passed", _("Not passed")
    NOTICE = "notice", _("On public notice")
    FUNDED = "funded", _("Funded")
    NOT_FUNDED = "not_funded", _("Not funded")
    WITHDRAWN = "withdrawn", _("Withdrawn")


#: States from which an application may still be withdrawn (a decision is final).
OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.RETURNED, Status.IN_REVIEW, Status.NOTICE)


class Application(models.Model):
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="applications")
    reference = models.CharField(_("reference"), max_length=30, unique=True)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("lead applicant"),
    )
    partners = models.ManyToManyField(
        "organisations.Organisation",
        blank=True,
        related_name="partner_applications",
        verbose_name=_("co-applicants"),
    )
    field = models.CharField(_("field"), max_length=40)
    title = models.CharField(_("project title"), max_length=200)
    answers = models.JSONField(_("answers"), default=dict)
    budget = models.JSONField(_("budget lines"), default=dict)
    requested = money_field(_("requested (CNY)"))
    #: Set when the last scored stage closes above the funding line (what the notice proposes).
    proposed = money_field(_("proposed (CNY)"), null=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("current stage"),
    )  # fmt: skip
    #: A note to the applicant from the last status change (formal check, stage feedback).
    feedback = models.TextField(_("feedback"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["call", "reference"]
        indexes = [models.Index(fields=["call", "status"], name="application_call_status")]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_cross_border(self) -> bool:
        """Led by, or with a co-applicant from, Hong Kong or Macao."""
        if self.organisation.region != "CN":
            return True
        return self.partners.exclude(region="CN").exists()


class Attachment(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="files")
    field = models.CharField(_("form field"), max_length=60)
    file = models.FileField(upload_to="applications/%Y/")
    original_name = models.CharField(_("file name"), max_length=255)
    kind = models.CharField(max_length=10)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "field"], name="attachment_one_per_field"
            )
        ]

    def __str__(self) -> str:
        return self.original_name


class Award(models.Model):
    """An amount the committee decided to fund; the ledger turns it into a commitment."""

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="award")
    amount = money_field(_("amount (CNY)"))
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("award")
        verbose_name_plural = _("awards")

    def __str__(self) -> str:
        return f"{self.application.reference} {self.amount}"


class TaskStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open for bids")
    REVIEW = "review", _("Bids in review")
    SELECTED = "selected", _("Selected")
    CLOSED = "closed", _("Closed")


class ChallengeTask(models.Model):
    """A 揭榜挂帅 task: the bureau posts requirements and KPIs, teams bid. Bids are applications
    to the task's own call, so they go through the same review pipeline."""

    call = models.OneToOneField(Call, on_delete=models.PROTECT, related_name="challenge")
    requirements = models.TextField(_("requirements"))
    kpis = models.JSONField(_("KPIs"), default=list)
    budget_ceiling = money_field(_("budget ceiling (CNY)"))
    max_winners = models.PositiveSmallIntegerField(
        _("bids selected (more than 1 = horse race)"), default=1
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.DRAFT
    )

    class Meta:
        verbose_name = _("challenge task")
        verbose_name_plural = _("challenge tasks")

    def __str__(self) -> str:
        return str(self.call)


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    SUBMITTED = "submitted", _("Submitted for acceptance")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Not accepted")


class Milestone(models.Model):
    """A step of a selected bid's plan; its payment is released only once it is accepted."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="milestones"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    title = models.CharField(_("title"), max_length=200)
    due_on = models.DateField(_("due on"))
    amount = money_field(_("payment (CNY)"))
    status = models.CharField(
        _("status"), max_length=10, choices=MilestoneStatus.choices, default=MilestoneStatus.PLANNED
    )
    report = models.TextField(_("report"), blank=True)
    #: The officer's reason for the last decision (required to reject); the applicant reads it.
    note = models.TextField(_("decision note"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["application", "order"]
        constraints = [
            models.UniqueConstraint(fields=["application", "order"], name="milestone_order_unique")
        ]

    def __str__(self) -> str:
        return self.title
