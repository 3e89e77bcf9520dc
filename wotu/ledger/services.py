"""Writes to the ledger: budgets, commitments, payment schedules and releases.

Accounts (one scheme for every service; build them with :func:`commitment_account`)::

    source      source/<source>/CNY                                  where the money comes from
    budget      budget/<programme>/<year>/<source>/CNY               left to commit (credit)
    commitment  commitment/<programme>/<year>/<source>/payee-<id>/CNY   committed, not yet due
    payable, in_transit, paid, charges: like commitment, per payee; payable and in_transit
                may also exist in HKD/MOP for conversions (``fx/<CUR>`` holds the legs)

Units: CNY with two decimals. Locks: a commitment locks its budget account rows
(``SELECT … FOR UPDATE``) in primary-key order before reading what is left, so concurrent
commitments against one budget queue up and never overspend; on SQLite writers are serialised
anyway. Every money-moving service takes an idempotency key (:func:`~wotu.ledger.posting.
idempotent`): a replay returns the first result, another request under the same key is refused.
Audit events: ``ledger.entry`` for each entry (from :func:`~wotu.ledger.posting.entry_post`),
``budget.allocate``, ``commitment.create``, ``commitment.schedule`` and ``tranche.release``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.money import FEN, round_fen
from wotu.ledger.models import (
    Account,
    AccountKind,
    Commitment,
    Currency,
    EntryKind,
    FundingSource,
    JournalEntry,
    SourceKind,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.posting import account_for, balance, entry_post, idempotent
from wotu.organisations.models import Organisation
from wotu.programmes.models import Award, Call, Milestone, MilestoneStatus, Programme

ZERO = Decimal("0.00")
POLICY_RUN_AWARD = "policies.runresult"
DECISION_AWARD = "programmes.award"


# --- accounts and reads -------------------------------------------------------------------------


def budget_account(*, programme: Programme, year: int, source: FundingSource) -> Account:
    return account_for(kind=AccountKind.BUDGET, programme=programme, year=year, source=source)


def commitment_account(
    *, commitment: Commitment, kind: str, currency: str = Currency.CNY
) -> Account:
    """The per-payee account of ``kind`` (commitment, payable, in_transit, paid, charges) that
    belongs to ``commitment``'s programme, year and source — so every report can follow money
    from budget to paid without leaving the ledger."""
    return account_for(
        kind=kind,
        currency=currency,
        programme=commitment.programme,
        year=commitment.year,
        source=commitment.source,
        payee=commitment.payee,
    )


def budget_left(*, programme: Programme, year: int, source: FundingSource) -> Decimal:
    """CNY still free to commit: allocated minus committed (the budget account's credit
    balance). Zero when nothing was ever allocated. Takes no lock: use it for display; the
    binding check happens under lock in :func:`commitment_create`."""
    account = Account.objects.filter(
        kind=AccountKind.BUDGET, programme=programme, year=year, source=source
    ).first()
    return ZERO if account is None else -balance(account=account)


def _amount_checked(amount: Decimal, *, what: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise WotuError(
            f"{what}金额 {amount} 必须是大于零的 Decimal（人民币元）",
            f"the {what} amount {amount} must be a Decimal above zero (CNY)",
        )
    if amount != amount.quantize(FEN):
        raise WotuError(
            f"{what}金额 {amount} 超过两位小数（最小单位为分）",
            f"the {what} amount {amount} has more than two decimals (the smallest unit is 0.01)",
        )
    return amount.quantize(FEN)


# --- budgets ------------------------------------------------------------------------------------


def budget_allocate(
    *,
    programme: Programme,
    year: int,
    source: FundingSource,
    amount: Decimal,
    actor: Any,
    key: str,
) -> JournalEntry:
    """Give ``programme``'s ``year`` budget ``amount`` CNY from ``source``: Dr source, Cr budget.
    Idempotent under ``key``. Writes ``ledger.entry`` and ``budget.allocate`` audit events."""
    amount = _amount_checked(amount, what="预算 / budget")
    request = {"programme": programme.pk, "year": year, "source": source.pk, "amount": amount}

    def run() -> dict[str, Any]:
        budget = budget_account(programme=programme, year=year, source=source)
        source_account = account_for(kind=AccountKind.SOURCE, source=source)
        entry = entry_post(
            kind=EntryKind.ALLOCATE,
            lines=[(source_account, amount), (budget, -amount)],
            actor=actor,
            memo=f"budget {programme.code} {year} {source.code}",
            subject=programme,
        )
        audit_record(
            actor=actor,
            action="budget.allocate",
            subject=programme,
            data={"year": year, "source": source.code, "amount": amount, "entry": entry.pk},
        )
        return {"entry": entry.pk}

    result = idempotent(key=key, scope="budget.allocate", request=request, run=run)
    return JournalEntry.objects.get(pk=result["entry"])


# --- commitments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardLine:
    """One award to commit: what it is, who is paid, how much (CNY) from which money."""

    award_type: str
    award_id: str
    programme: Programme
    year: int
    source: FundingSource
    payee: Organisation
    amount: Decimal


BudgetKey = tuple[int, int, int]


def _budget_key(line: AwardLine) -> BudgetKey:
    return (line.programme.pk, line.year, line.source.pk)


def _budgets_lock(lines: Iterable[AwardLine]) -> dict[BudgetKey, Account]:
    """Lock every budget account ``lines`` draw on, in primary-key order (so two writers never
    deadlock), and return them by (programme, year, source). Must run inside a transaction."""
    pks = {
        _budget_key(line): budget_account(
            programme=line.programme, year=line.year, source=line.source
        ).pk
        for line in lines
    }
    locked = Account.objects.select_for_update().filter(pk__in=pks.values()).order_by("pk")
    by_pk = {account.pk: account for account in locked}
    return {budget_key: by_pk[pk] for budget_key, pk in pks.items()}


def _commitments_book(*, lines: Sequence[AwardLine], actor: Any) -> list[Commitment]:
    """Commit ``lines`` all or nothing, under locks on their budgets (taken in pk order).
    Refused, naming the budget, when the lines would take more than a budget has left, or when
    an award is already committed from that source."""
    with transaction.atomic():
        budgets = _budgets_lock(lines)
        wanted: dict[BudgetKey, Decimal] = {}
        for line in lines:
            wanted[_budget_key(line)] = wanted.get(_budget_key(line), ZERO) + line.amount
        for budget_key, amount in sorted(wanted.items()):
            left = -balance(account=budgets[budget_key])
            if amount > left:
                code = budgets[budget_key].code
                raise WotuError(
                    f"预算 {code} 仅余 {left} 元，不足以承诺 {amount} 元",
                    f"the budget {code} has CNY {left} left, not enough to commit CNY {amount}",
                )
        return [
            _commitment_book(line=line, budget=budgets[_budget_key(line)], actor=actor)
            for line in lines
        ]


def _commitment_book(*, line: AwardLine, budget: Account, actor: Any) -> Commitment:
    if Commitment.objects.filter(
        award_type=line.award_type, award_id=line.award_id, source=line.source
    ).exists():
        raise WotuError(
            f"奖励 {line.award_type}:{line.award_id} 已由资金来源 {line.source.code} 承诺过",
            f"the award {line.award_type}:{line.award_id} is already committed from"
            f" {line.source.code}",
        )
    held = account_for(
        kind=AccountKind.COMMITMENT,
        programme=line.programme,
        year=line.year,
        source=line.source,
        payee=line.payee,
    )
    entry = entry_post(
        kind=EntryKind.COMMIT,
        lines=[(budget, line.amount), (held, -line.amount)],
        actor=actor,
        memo=f"commit {line.award_type}:{line.award_id}",
        subject=(line.award_type, line.award_id),
    )
    commitment = Commitment.objects.create(
        award_type=line.award_type,
        award_id=line.award_id,
        programme=line.programme,
        year=line.year,
        source=line.source,
        payee=line.payee,
        amount=line.amount,
        entry=entry,
    )
    audit_record(
        actor=actor,
        action="commitment.create",
        subject=commitment,
        data={
            "award": f"{line.award_type}:{line.award_id}",
            "programme": line.programme.code,
            "year": line.year,
            "source": line.source.code,
            "payee": line.payee.pk,
            "amount": line.amount,
            "entry": entry.pk,
        },
    )
    return commitment


def _commitments_result(commitments: Sequence[Commitment]) -> dict[str, Any]:
    return {"commitments": [c.pk for c in commitments]}


def _commitments_of(result: Mapping[str, Any]) -> list[Commitment]:
    by_pk = Commitment.objects.in_bulk(result["commitments"])
    return [by_pk[pk] for pk in result["commitments"]]


def commitment_create(
    *,
    award_type: str,
    award_id: str,
    programme: Programme,
    year: int,
    source: FundingSource,
    payee: Organisation,
    amount: Decimal,
    actor: Any,
    key: str,
) -> Commitment:
    """Commit ``amount`` CNY of ``programme``'s ``year`` budget from ``source`` to ``payee``:
    Dr budget, Cr commitment. Locks the budget row; refused if it would exceed what is left or
    if the award is already committed from this source. Idempotent under ``key``."""
    line = AwardLine(
        award_type=award_type,
        award_id=str(award_id),
        programme=programme,
        year=year,
        source=source,
        payee=payee,
        amount=_amount_checked(amount, what="承诺 / commitment"),
    )
    result = idempotent(
        key=key,
        scope="commitment.create",
        request=_line_request(line),
        run=lambda: _commitments_result(_commitments_book(lines=[line], actor=actor)),
    )
    return _commitments_of(result)[0]


def _line_request(line: AwardLine) -> dict[str, Any]:
    return {
        "award": f"{line.award_type}:{line.award_id}",
        "programme": line.programme.pk,
        "year": line.year,
        "source": line.source.pk,
        "payee": line.payee.pk,
        "amount": line.amount,
    }


def amount_split(*, amount: Decimal, shares: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` (CNY) by ``shares`` (summing to 1) to the fen without losing one:
    each part is the rounded running total minus the previous rounded running total, so the
    parts are never negative, each is within a fen of its exact share, and the last takes the
    remainder."""
    parts: list[Decimal] = []
    running = Decimal(0)
    done = ZERO
    for index, share in enumerate(shares):
        running += share
        upto = amount if index == len(shares) - 1 else round_fen(amount * running)
        parts.append(upto - done)
        done = upto
    return parts


def _split_checked(split: Mapping[FundingSource | str, Decimal]) -> list[tuple[Any, Decimal]]:
    items = list(split.items())  # the caller's order: the last share takes the remainder
    if not items or any(share <= 0 for _, share in items) or sum(s for _, s in items) != 1:
        raise WotuError(
            f"资金分担比例 {[str(s) for _, s in items]} 必须都大于零且合计为 1",
            f"the funding shares {[str(s) for _, s in items]} must each be above zero and sum to 1",
        )
    return items


def _district_source(district_code: str) -> FundingSource:
    source = FundingSource.objects.filter(
        kind=SourceKind.DISTRICT, district_code=district_code
    ).first()
    if source is None:
        raise WotuError(
            f"区（市）{district_code or '（空）'} 没有区级资金来源；请先在资金来源中登记",
            f"there is no district funding source for district {district_code or '(empty)'};"
            " register one first",
        )
    return source


def commitments_from_policy_run(
    *,
    run: Any,
    programme: Programme,
    split: Mapping[FundingSource | str, Decimal],
    actor: Any,
    key: str,
) -> list[Commitment]:
    """Commit every award of a finished "evaluate" policy run, shared between funding sources.

    ``split`` maps a source to its share (the shares sum to 1), e.g. ``{city: Decimal("0.5"),
    "district": Decimal("0.5")}``; the key ``"district"`` means each firm's own district
    source (by the result's ``district_code``). Each award is split to the fen in ``split``'s
    order, the last source taking the remainder (see :func:`amount_split`); a zero part is
    skipped. Results already committed from a source
    are skipped, so a run can be committed again after a failed attempt. All or nothing,
    under budget locks; idempotent under ``key``. Year = the run's year."""
    from wotu.policies.models import RunKind, RunStatus

    if run.status != RunStatus.DONE or run.kind != RunKind.EVALUATE:
        raise WotuError(
            f"策略运行 #{run.pk} 不是已完成的奖励计算，不能据此承诺",
            f"policy run #{run.pk} is not a finished award run; only those can be committed",
        )
    items = _split_checked(split)
    request = {
        "run": run.pk,
        "programme": programme.pk,
        "split": {k if isinstance(k, str) else f"source-{k.pk}": v for k, v in items},
    }

    def lines() -> list[AwardLine]:
        out: list[AwardLine] = []
        for result in run.results.filter(amount__gt=0).select_related("organisation"):
            if result.organisation is None:
                raise WotuError(
                    f"结果 {result.uscc} 没有对应的登记单位，无法付款；请先登记该企业",
                    f"the result for {result.uscc} has no registered organisation to pay;"
                    " register it first",
                )
            parts = amount_split(amount=result.amount, shares=[s for _, s in items])
            for (source_key, _), part in zip(items, parts, strict=True):
                source = (
                    _district_source(result.district_code)
                    if source_key == SourceKind.DISTRICT
                    else source_key
                )
                out.append(
                    AwardLine(
                        POLICY_RUN_AWARD,
                        str(result.pk),
                        programme,
                        run.year,
                        source,
                        result.organisation,
                        part,
                    )
                )
        return _not_yet_committed(out)

    result = idempotent(
        key=key,
        scope="commitment.policy_run",
        request=request,
        run=lambda: _commitments_result(_commitments_book(lines=lines(), actor=actor)),
    )
    return _commitments_of(result)


def _not_yet_committed(lines: list[AwardLine]) -> list[AwardLine]:
    done = set(
        Commitment.objects.filter(
            award_type__in={line.award_type for line in lines},
            award_id__in={line.award_id for line in lines},
        ).values_list("award_type", "award_id", "source_id")
    )
    return [
        line
        for line in lines
        if line.amount > 0 and (line.award_type, line.award_id, line.source.pk) not in done
    ]


def commitments_from_decision(
    *, call: Call, source: FundingSource, actor: Any, key: str
) -> list[Commitment]:
    """Commit every committee :class:`~wotu.programmes.models.Award` of ``call`` not yet
    committed from ``source``, against the call's programme budget for the programme's year.
    All or nothing, under the budget lock; idempotent under ``key``."""
    programme = call.programme

    def lines() -> list[AwardLine]:
        awards = Award.objects.filter(application__call=call).select_related(
            "application__organisation"
        )
        return _not_yet_committed(
            [
                AwardLine(
                    DECISION_AWARD,
                    str(award.pk),
                    programme,
                    programme.year,
                    source,
                    award.application.organisation,
                    award.amount,
                )
                for award in awards.order_by("pk")
            ]
        )

    result = idempotent(
        key=key,
        scope="commitment.decision",
        request={"call": call.pk, "source": source.pk},
        run=lambda: _commitments_result(_commitments_book(lines=lines(), actor=actor)),
    )
    return _commitments_of(result)


# --- schedules and releases ---------------------------------------------------------------------


def schedule_set(
    *, commitment: Commitment, tranches: Sequence[Mapping[str, Any]], actor: Any
) -> list[Tranche]:
    """Replace ``commitment``'s payment schedule with ``tranches`` (``{"due_on": date,
    "amount": Decimal, "milestone_id"?: int}``, in order). The amounts must be positive and sum
    to the commitment's amount; refused once any tranche has left "planned" or when the
    commitment's entry was reversed. Moves no money
    (so no idempotency key); writes a ``commitment.schedule`` audit event."""
    if JournalEntry.objects.filter(reverses_id=commitment.entry_id).exists():
        raise WotuError(
            f"承诺 #{commitment.pk} 已被冲销（奖励撤回），不能再安排付款",
            f"commitment #{commitment.pk} was reversed (the award withdrawn); it cannot be"
            " scheduled for payment",
        )
    amounts = [_amount_checked(t["amount"], what="分期 / tranche") for t in tranches]
    if sum(amounts, ZERO) != commitment.amount:
        raise WotuError(
            f"分期合计 {sum(amounts, ZERO)} 元，与承诺金额 {commitment.amount} 元不符",
            f"the tranches add up to CNY {sum(amounts, ZERO)}, not the commitment's"
            f" CNY {commitment.amount}",
        )
    with transaction.atomic():
        current = Tranche.objects.select_for_update().filter(commitment=commitment).order_by("pk")
        if any(t.status != TrancheStatus.PLANNED for t in current):
            raise WotuError(
                f"承诺 #{commitment.pk} 已有分期进入付款流程，不能再修改付款计划",
                f"commitment #{commitment.pk} already has a tranche in payment; its schedule"
                " can no longer change",
            )
        current.delete()
        made = [
            Tranche.objects.create(
                commitment=commitment,
                order=order,
                due_on=spec["due_on"],
                amount=amount,
                milestone=_milestone(spec.get("milestone_id")),
            )
            for order, (spec, amount) in enumerate(zip(tranches, amounts, strict=True), start=1)
        ]
        audit_record(
            actor=actor,
            action="commitment.schedule",
            subject=commitment,
            data={"tranches": [[t.due_on, t.amount, t.milestone_id] for t in made]},
        )
    return made


def _milestone(milestone_id: int | None) -> Milestone | None:
    if milestone_id is None:
        return None
    milestone = Milestone.objects.filter(pk=milestone_id).first()
    if milestone is None:
        raise WotuError(
            f"里程碑 #{milestone_id} 不存在",
            f"milestone #{milestone_id} does not exist",
        )
    return milestone


def tranches_release(*, today: dt.date, actor: Any) -> list[Tranche]:
    """Make payable every planned tranche due on or before ``today`` whose milestone (if any)
    is accepted and whose commitment still stands (its commit entry not reversed): posts "due"
    (Dr commitment, Cr payable) per tranche and writes a ``tranche.release`` event. Locks the
    tranches (pk order); running it twice releases nothing new, so it needs no idempotency
    key."""
    released: list[Tranche] = []
    with transaction.atomic():
        due = (
            Tranche.objects.select_for_update(of=("self",))
            .filter(status=TrancheStatus.PLANNED, due_on__lte=today)
            # A withdrawn award (its commit entry reversed) has nothing left to pay.
            .exclude(commitment__entry__reversed_by__isnull=False)
            .select_related(
                "commitment__programme", "commitment__source", "commitment__payee", "milestone"
            )
            .order_by("pk")
        )
        for tranche in due:
            milestone = tranche.milestone
            if milestone is not None and milestone.status != MilestoneStatus.ACCEPTED:
                continue
            released.append(_tranche_release(tranche=tranche, actor=actor))
    return released


def _tranche_release(*, tranche: Tranche, actor: Any) -> Tranche:
    commitment = tranche.commitment
    entry_post(
        kind=EntryKind.DUE,
        lines=[
            (
                commitment_account(commitment=commitment, kind=AccountKind.COMMITMENT),
                tranche.amount,
            ),
            (commitment_account(commitment=commitment, kind=AccountKind.PAYABLE), -tranche.amount),
        ],
        actor=actor,
        memo=f"due commitment #{commitment.pk} tranche {tranche.order}",
        subject=tranche,
    )
    tranche.status = TrancheStatus.PAYABLE
    tranche.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="tranche.release",
        subject=tranche,
        data={"commitment": commitment.pk, "order": tranche.order, "amount": tranche.amount},
    )
    return tranche
