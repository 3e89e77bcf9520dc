"""Money: an append-only double-entry ledger, the commitments and payment schedules it books, and
the payment batches that pay them through the bank.

Accounts have one currency each. A journal entry's postings carry signed amounts (debit > 0,
credit < 0) and sum to zero **per currency**; a conversion is a pair of legs through the FX
accounts, never a mixed sum. Journal entries and postings are only ever added: the models and
querysets refuse changes and deletions, and on PostgreSQL triggers refuse UPDATE and DELETE and
check the balance of every entry at commit (migration ``0002``). A correction is a reversing
entry.

How money moves (account kinds; balances read debit-positive)::

    allocate  Dr source        Cr budget          the programme's budget for a year, per source
    commit    Dr budget        Cr commitment      an award; refused beyond the budget left
    due       Dr commitment    Cr payable         a tranche falls due (its condition met)
    export    Dr payable       Cr in_transit      a batch line sent to the bank
    paid      Dr in_transit    Cr paid            the bank's return: paid
    failed    Dr in_transit    Cr payable         the bank's return: failed, payable again
    convert   Dr payable  (CNY) Cr fx (CNY)  +  Dr fx (HKD) Cr in_transit (HKD)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wotu.core.errors import WotuError
from wotu.core.models import GuardedModel
from wotu.core.money import money_field


class LedgerImmutableError(WotuError):
    def __init__(self) -> None:
        super().__init__(
            "账簿分录只能追加，不能修改或删除；如需更正，请做冲销分录",
            "ledger entries are append-only: they cannot be changed or deleted;"
            " post a reversing entry instead",
        )


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """Refuses bulk changes and deletions (saving new rows is still allowed)."""

    def update(self, **kwargs: Any) -> int:
        raise LedgerImmutableError

    def delete(self) -> tuple[int, dict[str, int]]:
        raise LedgerImmutableError

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise LedgerImmutableError


class AppendOnly(GuardedModel):
    class Meta:
        abstract = True

    def is_locked(self) -> bool:
        return self.pk is not None and type(self)._default_manager.filter(pk=self.pk).exists()

    def locked_error(self) -> Exception:
        return LedgerImmutableError()


class Currency(models.TextChoices):
    CNY = "CNY", _("Renminbi (CNY)")
    HKD = "HKD", _("Hong Kong dollar (HKD)")
    MOP = "MOP", _("Macao pataca (MOP)")


class SourceKind(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    PROVINCIAL = "provincial", _("Provincial joint fund")


class FundingSource(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=SourceKind.choices)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    district_code = models.CharField(_("district"), max_length=6, blank=True)

    class Meta:
        verbose_name = _("funding source")
        verbose_name_plural = _("funding sources")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name


class AccountKind(models.TextChoices):
    SOURCE = "source", _("Funding source")
    BUDGET = "budget", _("Budget left to commit")
    COMMITMENT = "commitment", _("Committed, not yet due")
    PAYABLE = "payable", _("Payable")
    IN_TRANSIT = "in_transit", _("Sent to the bank")
    PAID = "paid", _("Paid")
    FX = "fx", _("Currency conversion")
    CHARGES = "charges", _("Bank charges")


class Account(models.Model):
    """One account in one currency. ``code`` is derived from the other fields, e.g.
    ``budget/qz-talent-2026/2026/city/CNY``, and unique."""

    code = models.CharField(_("code"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=AccountKind.choices)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    source = models.ForeignKey(
        FundingSource, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    programme = models.ForeignKey(
        "programmes.Programme", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    payee = models.ForeignKey(
        "organisations.Organisation", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class EntryKind(models.TextChoices):
    ALLOCATE = "allocate", _("Budget allocation")
    COMMIT = "commit", _("Commitment")
    DUE = "due", _("Tranche due")
    EXPORT = "export", _("Sent to the bank")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Payment failed")
    CHARGE = "charge", _("Bank charge")
    REVERSAL = "reversal", _("Reversal")


class JournalEntry(AppendOnly):
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices)
    posted_at = models.DateTimeField(_("posted at"))
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: What the entry is about, e.g. ("ledger.commitment", "12").
    subject_type = models.CharField(max_length=60, blank=True)
    subject_id = models.CharField(max_length=40, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.memo}"


class Posting(AppendOnly):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    #: The account's currency, repeated so the database can check balance per currency.
    currency = models.CharField(max_length=3, choices=Currency.choices)
    #: Debit > 0, credit < 0.
    amount = money_field(_("amount"))

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        ordering = ["entry_id", "id"]
        constraints = [
            models.CheckConstraint(name="posting_amount_not_zero", condition=~models.Q(amount=0)),
        ]
        indexes = [models.Index(fields=["account", "entry"], name="posting_account_entry")]

    def __str__(self) -> str:
        return f"{self.account.code} {self.amount} {self.currency}"


class IdempotencyRecord(models.Model):
    """The first result of a money-moving call, kept under its idempotency key: a replay with
    the same request gets it back; the same key with another request is refused."""

    key = models.CharField(max_length=200, unique=True)
    scope = models.CharField(max_length=60)
    request_hash = models.CharField(max_length=64)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class Commitment(models.Model):
    """An award committed against a programme's budget for a year and a funding source.

    ``award_type``/``award_id`` name what was awarded (a policy run result, a committee award, a
    challenge milestone plan); the pair is unique per source, so an award is never committed
    twice from the same money."""

    award_type = models.CharField(max_length=60)
    award_id = models.CharField(max_length=40)
    programme = models.ForeignKey(
        "programmes.Programme", on_delete=models.PROTECT, related_name="commitments"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    source = models.ForeignKey(FundingSource, on_delete=models.PROTECT, related_name="+")
    payee = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="commitments"
    )
    amount = money_field(_("amount (CNY)"))
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["award_type", "award_id", "source"], name="commitment_award_once"
            ),
            models.CheckConstraint(name="commitment_positive", condition=models.Q(amount__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.payee} {self.amount}"


class TrancheStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    PAYABLE = "payable", _("Payable")
    IN_BATCH = "in_batch", _("In a payment batch")
    SENT = "sent", _("Sent to the bank")
    PAID = "paid", _("Paid")
    #: Its commitment was cancelled before the tranche was paid (never payable again).
    CANCELLED = "cancelled", _("Cancelled")


class Tranche(models.Model):
    """One scheduled payment of a commitment; it becomes payable on its date and, when it names
    a milestone, only once that milestone is accepted."""

    commitment = models.ForeignKey(Commitment, on_delete=models.PROTECT, related_name="tranches")
    order = models.PositiveSmallIntegerField()
    due_on = models.DateField(_("due on"))
    amount = money_field(_("amount (CNY)"))
    milestone = models.ForeignKey(
        "programmes.Milestone", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TrancheStatus.choices, default=TrancheStatus.PLANNED
    )

    class Meta:
        verbose_name = _("tranche")
        verbose_name_plural = _("tranches")
        ordering = ["commitment", "order"]
        constraints = [
            models.UniqueConstraint(fields=["commitment", "order"], name="tranche_order_unique"),
            models.CheckConstraint(name="tranche_positive", condition=models.Q(amount__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.commitment} #{self.order}"


class FxRate(models.Model):
    """CNY per one unit of ``currency`` on ``date``, from ``source`` (e.g. the PBoC central
    parity). Which rate applies is unconfirmed (policy-facts §7): every payment records its own."""

    date = models.DateField(_("date"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    rate = models.DecimalField(_("CNY per unit"), max_digits=12, decimal_places=6)
    source = models.CharField(_("source"), max_length=100)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["-date", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["date", "currency"], name="fx_one_rate_per_day"),
            models.CheckConstraint(name="fx_rate_positive", condition=models.Q(rate__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.currency} {self.rate}"


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("Being prepared")
    SUBMITTED = "submitted", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    EXPORTED = "exported", _("Sent to the bank")
    SETTLED = "settled", _("Settled")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentBatch(models.Model):
    reference = models.CharField(_("reference"), max_length=30, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.DRAFT
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment batch")
        verbose_name_plural = _("payment batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference


class BatchApproval(models.Model):
    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField()

    class Meta:
        verbose_name = _("batch approval")
        verbose_name_plural = _("batch approvals")
        constraints = [
            models.UniqueConstraint(fields=["batch", "approver"], name="approval_once_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.batch} ✓ {self.approver}"


class LineStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class PaymentLine(models.Model):
    """One payment in a batch: a tranche paid to a payee's account, in CNY or — for Hong Kong
    and Macao payees who ask for it — in HKD/MOP at a recorded rate."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="lines")
    tranche = models.ForeignKey(Tranche, on_delete=models.PROTECT, related_name="lines")
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    payee = models.ForeignKey("organisations.Organisation", on_delete=models.PROTECT,
                              related_name="+")  # fmt: skip
    bank_account = models.CharField(_("bank account"), max_length=60)
    bank_name = models.CharField(_("bank"), max_length=100)
    amount_cny = money_field(_("amount (CNY)"))
    currency = models.CharField(
        _("currency paid"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    amount = money_field(_("amount paid"))
    fx_rate = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    fx_date = models.DateField(null=True, blank=True)
    fx_source = models.CharField(max_length=100, blank=True)
    purpose = models.CharField(_("purpose"), max_length=140)
    status = models.CharField(
        _("status"), max_length=10, choices=LineStatus.choices, default=LineStatus.PENDING
    )
    bank_message = models.CharField(_("bank's message"), max_length=200, blank=True)
    #: When the bank's return booked the line paid (None until then, and for lines paid before
    #: the column existed: reports fall back to the ``payment.paid`` audit event).
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment line")
        verbose_name_plural = _("payment lines")
        ordering = ["batch", "id"]

    def __str__(self) -> str:
        return self.reference


class PayeeAccount(models.Model):
    """Where a payee receives money. Hong Kong and Macao units provide an RMB account by default
    (粤府〔2019〕1号); one in HKD/MOP may be used when the payee asks for it."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.PROTECT, related_name="bank_accounts"
    )
    bank_name = models.CharField(_("bank"), max_length=100)
    account_number = models.CharField(_("account number"), max_length=60)
    account_name = models.CharField(_("account name"), max_length=200)
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    swift = models.CharField(_("SWIFT/BIC"), max_length=11, blank=True)
    preferred = models.BooleanField(_("preferred"), default=True)

    class Meta:
        verbose_name = _("payee bank account")
        verbose_name_plural = _("payee bank accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "account_number"], name="payee_account_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.bank_name} {self.account_number[-4:]}"
