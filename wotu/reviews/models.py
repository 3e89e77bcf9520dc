"""Expert review: the expert pool, conflicts of interest, assignments, scores, stage results,
the public notice (公示) with its objections, and the committee decision.

Experts see only their own assignments (see :mod:`wotu.reviews.selectors`); an assignment is
opened to the expert only after they affirm "no conflict" for it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wotu.programmes.models import Application, Call, Stage


class AdmissionCondition(models.Model):
    """A written condition a Hong Kong or Macao expert must meet to join the pool (configurable
    by the bureau; the demo seeds the usual ones)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label = models.CharField(_("condition"), max_length=200)
    label_en = models.CharField(_("condition (English)"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("admission condition")
        verbose_name_plural = _("admission conditions")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.label


class Expert(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="expert",
        verbose_name=_("account"),
    )
    code = models.CharField(_("expert number"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="experts",
        verbose_name=_("organisation"),
    )
    region = models.CharField(_("region"), max_length=2, default="CN")
    title = models.CharField(_("title"), max_length=100, blank=True)
    #: Codes from :data:`wotu.reviews.fields.FIELDS`.
    fields = models.JSONField(_("fields"), default=list)
    active = models.BooleanField(_("active"), default=True)
    max_load = models.PositiveSmallIntegerField(
        _("own maximum load"), null=True, blank=True,
        help_text=_("Overrides the stage's maximum for this expert."),
    )  # fmt: skip
    #: HK/MO only: ``{condition code: true}`` for each admission condition met.
    admission = models.JSONField(_("admission checklist"), default=dict, blank=True)
    admitted_at = models.DateTimeField(_("admitted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("expert")
        verbose_name_plural = _("experts")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def in_pool(self) -> bool:
        """Active, and — for Hong Kong and Macao experts — admitted."""
        return self.active and (self.region == "CN" or self.admitted_at is not None)


class ExpertRelation(models.Model):
    """A relation the expert declared with an organisation (former employer, adviser, family
    business…): applications led or co-applied by it are conflicts until ``until_year``."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="relations")
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    relation = models.CharField(_("relation"), max_length=200)
    until_year = models.PositiveSmallIntegerField(_("until (year)"), null=True, blank=True)

    class Meta:
        verbose_name = _("declared relation")
        verbose_name_plural = _("declared relations")

    def __str__(self) -> str:
        return f"{self.expert} — {self.organisation}: {self.relation}"


class ConflictSource(models.TextChoices):
    SAME_ORGANISATION = "same_org", _("Same organisation")
    CO_APPLICANT = "co_applicant", _("Co-applicant of the application")
    PAST_PARTNER = "past_partner", _("Partner in a recent application")
    DECLARED_RELATION = "relation", _("Declared relation")
    EXPERT_DECLARED = "declared", _("Declared by the expert")


class Conflict(models.Model):
    """A conflict of interest between an expert and an application. Detected ones may be
    dismissed by an officer, with a written reason; an expert's own declaration stands."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="conflicts")
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="conflicts")
    source = models.CharField(_("source"), max_length=12, choices=ConflictSource.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    dismissed_reason = models.TextField(_("reason for dismissal"), blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "expert", "source"], name="conflict_unique_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.expert} × {self.application.reference}: {self.get_source_display()}"

    @property
    def active(self) -> bool:
        return self.dismissed_at is None


class AssignmentRun(models.Model):
    """One solve of a stage's assignment: reproducible from its inputs (hash), seed and solver."""

    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="assignment_runs")
    seed = models.IntegerField(default=0)
    input_hash = models.CharField(max_length=64)
    solver = models.CharField(max_length=40)
    solver_version = models.CharField(max_length=40)
    parameters = models.JSONField(default=dict)
    objective = models.FloatField(null=True)
    pairs = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assignment run")
        verbose_name_plural = _("assignment runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stage} #{self.pk}"


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting conflict declaration")
    ACCEPTED = "accepted", _("No conflict affirmed")
    DECLINED = "declined", _("Declined (conflict or unavailable)")
    SCORED = "scored", _("Scored")


class Assignment(models.Model):
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="assignments")
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="assignments"
    )
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="assignments")
    run = models.ForeignKey(AssignmentRun, on_delete=models.PROTECT, related_name="assignments")
    affinity = models.FloatField(default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=AssignmentStatus.choices,
        default=AssignmentStatus.PENDING,
    )  # fmt: skip
    declared_at = models.DateTimeField(_("declared at"), null=True, blank=True)
    decline_reason = models.TextField(_("reason for declining"), blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["stage", "application", "expert"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "application", "expert"], name="assignment_unique_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.expert} → {self.application.reference}"


class Score(models.Model):
    """An expert's marks for one assignment. Other experts' scores are hidden until the stage
    closes (see :mod:`wotu.reviews.selectors`)."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="score")
    marks = models.JSONField(_("marks"), default=dict)
    total = models.DecimalField(_("total"), max_digits=7, decimal_places=2)
    comment = models.TextField(_("comment"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")

    def __str__(self) -> str:
        return f"{self.assignment}: {self.total}"


class StageResult(models.Model):
    """An application's outcome at a closed stage: mean (and normalised) score, rank, pass."""

    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="results")
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="stage_results"
    )
    mean = models.DecimalField(_("mean score"), max_digits=7, decimal_places=2)
    normalised = models.DecimalField(
        _("normalised score"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    rank = models.PositiveIntegerField(_("rank"))
    passed = models.BooleanField(_("passed"))
    feedback = models.TextField(_("feedback to the applicant"), blank=True)

    class Meta:
        verbose_name = _("stage result")
        verbose_name_plural = _("stage results")
        ordering = ["stage", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "application"], name="stage_result_unique")
        ]

    def __str__(self) -> str:
        return f"{self.application.reference} #{self.rank}"


class Notice(models.Model):
    """The public notice (公示) of a call's proposed funding list."""

    call = models.OneToOneField(Call, on_delete=models.PROTECT, related_name="notice")
    published_at = models.DateTimeField(_("published at"))
    closes_at = models.DateTimeField(_("closes at"))
    working_days = models.PositiveSmallIntegerField(_("working days"), default=5)
    #: The proposed list as published: ``[{reference, organisation, title, field, amount}]``.
    entries = models.JSONField(default=list)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("public notice")
        verbose_name_plural = _("public notices")
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"{self.call} ({self.published_at:%Y-%m-%d})"


class ObjectionOutcome(models.TextChoices):
    OPEN = "open", _("Awaiting resolution")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


class Objection(models.Model):
    """A written objection during the notice window, filed under a real name with contact
    details (anonymous objections are refused), routed to an officer and resolved on record."""

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="objections")
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.PROTECT, related_name="objections"
    )
    name = models.CharField(_("real name"), max_length=100)
    contact = models.CharField(_("phone or e-mail"), max_length=200)
    text = models.TextField(_("objection"))
    filed_at = models.DateTimeField(_("filed at"))
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("officer in charge"),
    )  # fmt: skip
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=ObjectionOutcome.choices,
        default=ObjectionOutcome.OPEN,
    )  # fmt: skip
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["filed_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.filed_at:%Y-%m-%d})"


class Decision(models.Model):
    """The committee decision: it fixes the funded list and amounts (as awards)."""

    call = models.OneToOneField(Call, on_delete=models.PROTECT, related_name="decision")
    decided_at = models.DateTimeField(_("decided at"))
    minutes = models.TextField(_("minutes reference"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("committee decision")
        verbose_name_plural = _("committee decisions")

    def __str__(self) -> str:
        return f"{self.call} ({self.decided_at:%Y-%m-%d})"
