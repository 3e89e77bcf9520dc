"""The posting primitive: accounts, balanced journal entries, reversals, balances and
idempotency keys. Every money-moving service goes through here.

Units: amounts are :class:`~decimal.Decimal` in the account's currency with at most two decimal
places (fen / cents); never float. Postings are signed: debit > 0, credit < 0, and an entry sums
to zero **per currency** (a conversion is two legs through the FX accounts, each balanced in its
own currency). Balances therefore read debit-positive: a budget account that still has money to
commit has a *negative* balance (it was credited by ``allocate``).

Locks: :func:`entry_post` takes none; it only appends. Services that must read a balance and then
post against it (a commitment against a budget) lock the account rows first, in primary-key
order, with ``select_for_update`` (see :mod:`wotu.ledger.services`).

Invariants (checked here and, on PostgreSQL, by triggers from migration ``0002``): entries and
postings are append-only; every entry balances per currency; :func:`trial_balance` is zero in
every currency; an entry is reversed at most once.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Sum
from django.utils import timezone

from wotu.core.audit import audit_record, canonical_json
from wotu.core.errors import WotuError
from wotu.core.money import FEN
from wotu.ledger.models import (
    Account,
    EntryKind,
    FundingSource,
    IdempotencyRecord,
    JournalEntry,
    Posting,
)

ZERO = Decimal("0.00")


class EntryUnbalanced(WotuError):
    """An entry whose postings do not sum to zero in some currency."""


class IdempotencyConflict(WotuError):
    """The same idempotency key sent again with a different request."""


def account_for(
    *,
    kind: str,
    currency: str = "CNY",
    source: FundingSource | None = None,
    programme: Any = None,
    year: int | None = None,
    payee: Any = None,
) -> Account:
    """The account for these parts, created on first use. Its code joins the parts that are set,
    e.g. ``budget/qz-talent-2026/2026/city/CNY`` or ``payable/payee-12/CNY``. Safe when two
    transactions create the same account at once (unique code; the loser re-reads)."""
    parts = [kind]
    if programme is not None:
        parts.append(programme.code)
    if year is not None:
        parts.append(str(year))
    if source is not None:
        parts.append(source.code)
    if payee is not None:
        parts.append(f"payee-{payee.pk}")
    parts.append(currency)
    account, _ = Account.objects.get_or_create(
        code="/".join(parts),
        defaults={
            "kind": kind,
            "currency": currency,
            "source": source,
            "programme": programme,
            "year": year,
            "payee": payee,
        },
    )
    return account


def _subject_of(subject: models.Model | tuple[str, str] | None) -> tuple[str, str]:
    if subject is None:
        return "", ""
    if isinstance(subject, tuple):
        return subject
    return subject._meta.label_lower, str(subject.pk)


def _lines_checked(lines: Sequence[tuple[Account, Decimal]]) -> list[tuple[Account, Decimal]]:
    """The lines with amounts normalised to two places, or a WotuError naming what is wrong."""
    if len(lines) < 2:
        raise WotuError(
            f"分录至少需要两行，收到 {len(lines)} 行",
            f"a journal entry needs at least two lines; got {len(lines)}",
        )
    checked: list[tuple[Account, Decimal]] = []
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for account, amount in lines:
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise WotuError(
                f"账户 {account.code} 的金额 {amount!r} 不是有效的 Decimal",
                f"the amount {amount!r} for account {account.code} is not a finite Decimal",
            )
        if amount == 0:
            raise WotuError(
                f"账户 {account.code} 的金额为零；请删除该行",
                f"the amount for account {account.code} is zero; leave that line out",
            )
        if amount != amount.quantize(FEN):
            raise WotuError(
                f"账户 {account.code} 的金额 {amount} 超过两位小数（最小单位为分）",
                f"the amount {amount} for account {account.code} has more than two decimals"
                " (the smallest unit is 0.01)",
            )
        checked.append((account, amount.quantize(FEN)))
        totals[account.currency] += amount
    off = [(currency, total) for currency, total in sorted(totals.items()) if total != 0]
    if off:
        zh = "、".join(f"{currency} 相差 {total}" for currency, total in off)
        en = ", ".join(f"{currency} by {total}" for currency, total in off)
        raise EntryUnbalanced(
            f"分录不平衡：{zh}（借方为正、贷方为负，每种币种须各自合计为零）",
            f"the entry does not balance: {en} (debits positive, credits negative;"
            " each currency must sum to zero on its own)",
        )
    return checked


def entry_post(
    *,
    kind: str,
    lines: Sequence[tuple[Account, Decimal]],
    actor: Any,
    memo: str = "",
    subject: models.Model | tuple[str, str] | None = None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Append one balanced journal entry and its ``ledger.entry`` audit event, atomically.

    ``lines`` are (account, signed amount): debit > 0, credit < 0, in the account's currency,
    at most two decimals, none zero, at least two, summing to zero per currency — otherwise a
    :class:`WotuError` (:class:`EntryUnbalanced` for the sum) and nothing is written.
    The audit event's data is ``{"kind", "lines": [[code, currency, "amount"], …] in posting-id
    order, "reverses": id | None, "memo", "posted_at" (UTC, ISO 8601), "subject": "type:id"}``
    (``":"`` without a subject); ``wotu audit verify`` compares it with the ledger.
    Takes no row locks."""
    checked = _lines_checked(lines)
    subject_type, subject_id = _subject_of(subject)
    with transaction.atomic():
        entry = JournalEntry(
            kind=kind,
            posted_at=timezone.now(),
            memo=memo,
            actor=actor if getattr(actor, "pk", None) is not None else None,
            subject_type=subject_type,
            subject_id=subject_id,
            reverses=reverses,
        )
        entry.save()
        postings = Posting.objects.bulk_create(
            [
                Posting(entry=entry, account=account, currency=account.currency, amount=amount)
                for account, amount in checked
            ]
        )
        audit_record(
            actor=actor,
            action="ledger.entry",
            subject=entry,
            data={
                "kind": kind,
                "lines": [
                    [p.account.code, p.currency, str(p.amount)]
                    for p in sorted(postings, key=lambda p: p.pk)
                ],
                "reverses": reverses.pk if reverses is not None else None,
                "memo": memo,
                "posted_at": entry.posted_at,
                "subject": f"{subject_type}:{subject_id}",
            },
        )
    return entry


def entry_reverse(*, entry: JournalEntry, actor: Any, memo: str) -> JournalEntry:
    """Post the mirror image of ``entry`` (every amount negated), linked to it. An entry is
    reversed at most once (a WotuError otherwise; the one-to-one ``reverses`` column enforces it
    under concurrency too). Locks the entry's row while checking."""
    with transaction.atomic():
        JournalEntry.objects.select_for_update().filter(pk=entry.pk).first()
        if JournalEntry.objects.filter(reverses=entry).exists():
            raise WotuError(
                f"分录 #{entry.pk} 已被冲销过，不能再次冲销",
                f"journal entry #{entry.pk} has already been reversed; it cannot be reversed twice",
            )
        lines = [(p.account, -p.amount) for p in entry.postings.select_related("account")]
        try:
            with transaction.atomic():
                return entry_post(
                    kind=EntryKind.REVERSAL,
                    lines=lines,
                    actor=actor,
                    memo=memo,
                    subject=(entry.subject_type, entry.subject_id),
                    reverses=entry,
                )
        except IntegrityError as exc:
            raise WotuError(
                f"分录 #{entry.pk} 已被冲销过，不能再次冲销",
                f"journal entry #{entry.pk} has already been reversed; it cannot be reversed twice",
            ) from exc


def balance(*, account: Account) -> Decimal:
    """The account's balance in its own currency, debit-positive (sum of its postings)."""
    total = Posting.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
    return Decimal(total or ZERO).quantize(FEN)


def trial_balance() -> dict[str, Decimal]:
    """The sum of all postings per currency: ``{"CNY": Decimal("0.00"), …}``, every value zero
    when the ledger is sound. Currencies with no postings are absent."""
    rows = Posting.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
    return {row["currency"]: Decimal(row["total"]).quantize(FEN) for row in rows}


def _request_hash(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(request)).encode()).hexdigest()


def _replay(record: IdempotencyRecord, *, scope: str, request_hash: str) -> dict[str, Any]:
    if record.scope != scope or record.request_hash != request_hash:
        raise IdempotencyConflict(
            f"幂等键 “{record.key}” 已用于另一请求（{record.scope}）；请为新请求使用新的键",
            f"the idempotency key “{record.key}” was already used for a different request"
            f" ({record.scope}); use a new key for a new request",
        )
    return dict(record.result)


def idempotent(
    *,
    key: str,
    scope: str,
    request: Mapping[str, Any],
    run: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``run`` once per idempotency ``key`` and keep its JSON-able result.

    Same key and same request (``scope`` + canonical JSON of ``request``) → the stored result,
    without running again; same key with another request → :class:`IdempotencyConflict`; an
    empty key → WotuError. If ``run`` raises, nothing is stored and a retry runs again.

    Concurrency: the key's row is inserted *before* ``run``, in the same transaction; a second
    caller with the same key blocks on the unique index until the first commits, then fails
    with IntegrityError, rolls back to its savepoint and returns the stored result. So ``run``
    never books twice, even in a retry storm."""
    if not key or not key.strip():
        raise WotuError(
            f"缺少幂等键（{scope}）：每个资金操作都必须带一个唯一的键",
            f"an idempotency key is required ({scope}): every money-moving call takes one",
        )
    request_hash = _request_hash(request)
    stored = IdempotencyRecord.objects.filter(key=key).first()
    if stored is not None:
        return _replay(stored, scope=scope, request_hash=request_hash)
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                key=key, scope=scope, request_hash=request_hash, result={}
            )
            # Stored and returned in the same canonical form, so a replay equals the first answer.
            result: dict[str, Any] = json.loads(canonical_json(run()))
            record.result = result
            record.save(update_fields=["result"])
            return result
    except IntegrityError:
        stored = IdempotencyRecord.objects.filter(key=key).first()
        if stored is None:
            raise
        return _replay(stored, scope=scope, request_hash=request_hash)
