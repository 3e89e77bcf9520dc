"""Policy runs as records: who ran which policy for which year, on which input, with which
parameters and formulas — and what it gave, firm by firm.

A run's status moves only through :func:`wotu.policies.services.run_transition`
(queued → running → done | failed). Once a run is finished (done or failed) it and its results
are immutable: ``save()``, ``delete()`` and the querysets' ``update()``, ``delete()``,
``bulk_create()`` and ``bulk_update()`` refuse with :class:`RunImmutableError`. This is a
guard, not business logic — the services never try; the guard makes sure nothing else does
either (admin, shell, a later app). Raw SQL is not guarded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wotu.core.errors import WotuError
from wotu.core.models import GuardedModel
from wotu.core.money import money_field


class RunImmutableError(WotuError):
    """Someone tried to change or delete a finished run or one of its results."""

    def __init__(self) -> None:
        super().__init__(
            "已完成的政策运行及其结果不可修改或删除；如需更正，请重新运行",
            "a finished policy run and its results cannot be changed or deleted;"
            " run the policy again instead",
        )


class RunKind(models.TextChoices):
    EVALUATE = "evaluate", _("Awards")
    ASSESS = "assess", _("Assessment")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


FINISHED = (RunStatus.DONE, RunStatus.FAILED)


class PolicyRunQuerySet(models.QuerySet["PolicyRun"]):
    def update(self, **kwargs: Any) -> int:
        if self.filter(status__in=FINISHED).exists():
            raise RunImmutableError
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(status__in=FINISHED).exists():
            raise RunImmutableError
        return super().delete()


class PolicyRun(GuardedModel):
    """One evaluation of a policy for a year over the registry (a baseline or a scenario).

    ``parameters_hash`` is ``ParameterSet.version_hash()`` of the parameters actually used
    (overrides included); ``formulas_hash`` the SHA-256 of the catalogue module and its YAML;
    ``input_hash`` the SHA-256 of the facts read (see ``outcomes.facts_hash``). Same three
    hashes → same results.
    """

    policy_id = models.CharField(_("policy"), max_length=80)
    kind = models.CharField(_("kind"), max_length=10, choices=RunKind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    progress_message = models.CharField(_("progress message"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty when started from the command line."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    parameters_hash = models.CharField(_("parameters hash"), max_length=64, blank=True)
    formulas_hash = models.CharField(_("formulas hash"), max_length=64, blank=True)
    input_hash = models.CharField(_("input hash"), max_length=64, blank=True)
    input_source = models.CharField(_("input"), max_length=255, default="registry")
    input_rows = models.PositiveIntegerField(_("facts rows read"), null=True, blank=True)
    overrides = models.JSONField(_("parameter overrides"), default=dict, blank=True)
    scenario = models.CharField(_("scenario"), max_length=200, blank=True)
    baseline = models.ForeignKey(
        "self",
        verbose_name=_("baseline run"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scenarios",
    )
    totals = models.JSONField(_("totals"), default=dict, blank=True)
    error_zh = models.TextField(_("error (Chinese)"), blank=True)
    error_en = models.TextField(_("error (English)"), blank=True)

    objects = PolicyRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("policy run")
        verbose_name_plural = _("policy runs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["policy_id", "year", "status"], name="run_policy_year_status"),
        ]
        constraints = [
            models.CheckConstraint(
                name="run_progress_is_a_percentage", condition=models.Q(progress__lte=100)
            ),
        ]

    def __str__(self) -> str:
        label = f"{self.policy_id} {self.year} #{self.pk}"
        return f"{label} ({self.scenario})" if self.scenario else label

    def is_locked(self) -> bool:
        return self._finished_in_db()

    def locked_error(self) -> Exception:
        return RunImmutableError()

    @property
    def is_scenario(self) -> bool:
        return self.baseline_id is not None

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def _finished_in_db(self) -> bool:
        # Ask the database, not this instance: a stale copy must not overwrite a finished run.
        return bool(self.pk) and PolicyRun.objects.filter(pk=self.pk, status__in=FINISHED).exists()


class RunResultQuerySet(models.QuerySet["RunResult"]):
    def _touches_finished_run(self) -> bool:
        return self.filter(run__status__in=FINISHED).exists()

    def update(self, **kwargs: Any) -> int:
        if self._touches_finished_run():
            raise RunImmutableError
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self._touches_finished_run():
            raise RunImmutableError
        return super().delete()

    def bulk_update(
        self, objs: Iterable[RunResult], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        objs = list(objs)
        if PolicyRun.objects.filter(
            pk__in={obj.run_id for obj in objs}, status__in=FINISHED
        ).exists():
            raise RunImmutableError
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def bulk_create(
        self,
        objs: Iterable[RunResult],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Collection[str] | None = None,
        unique_fields: Collection[str] | None = None,
    ) -> list[RunResult]:
        objs = list(objs)
        run_ids = {obj.run_id for obj in objs}
        if PolicyRun.objects.filter(pk__in=run_ids, status__in=FINISHED).exists():
            raise RunImmutableError
        return super().bulk_create(
            objs,
            batch_size=batch_size,
            ignore_conflicts=ignore_conflicts,
            update_conflicts=update_conflicts,
            update_fields=update_fields,
            unique_fields=unique_fields,
        )


class RunResult(GuardedModel):
    """What a run gave one enterprise.

    An "evaluate" run has one row per positive award (``scheme`` = the output rule, ``amount``
    in CNY); an "assess" run one row per enterprise (``scheme`` and ``amount`` empty, the
    policy's output columns in ``values``). ``basis`` is the one-line explanation of the row.
    ``name`` and ``district_code`` are as the facts had them when the run read them.
    """

    run = models.ForeignKey(
        PolicyRun, on_delete=models.CASCADE, related_name="results", verbose_name=_("run")
    )
    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    uscc = models.CharField(_("USCC"), max_length=18)
    name = models.CharField(_("name"), max_length=200, blank=True)
    district_code = models.CharField(_("district"), max_length=6, blank=True)
    scheme = models.CharField(_("scheme"), max_length=100, null=True, blank=True)
    amount = money_field(_("amount (CNY)"), null=True)
    values = models.JSONField(_("values"), default=dict, blank=True)
    basis = models.TextField(_("basis"), blank=True)

    objects = RunResultQuerySet.as_manager()

    class Meta:
        verbose_name = _("run result")
        verbose_name_plural = _("run results")
        ordering = ["run_id", "uscc", "scheme"]
        indexes = [
            models.Index(fields=["run", "uscc"], name="result_run_uscc"),
            models.Index(fields=["run", "scheme", "uscc"], name="result_run_scheme_uscc"),
        ]

    def __str__(self) -> str:
        return f"{self.uscc} {self.scheme or ''} {self.amount or ''}".strip()

    def is_locked(self) -> bool:
        return self._run_finished()

    def locked_error(self) -> Exception:
        return RunImmutableError()

    def _run_finished(self) -> bool:
        return PolicyRun.objects.filter(pk=self.run_id, status__in=FINISHED).exists()
