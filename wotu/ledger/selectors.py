"""Reads from the ledger, always scoped to what the asking user may see.

Every view, endpoint and export fetches batches, commitments and statements through these
functions. ``PermissionDenied`` means the role may not look at this kind of data at all;
``Http404`` means this particular object is not visible to the user (we do not reveal that it
exists). Who may do what is decided in :mod:`wotu.ledger.permissions`:

| role            | dashboard, batches, FX | commitments       | payee statements  |
|-----------------|------------------------|-------------------|-------------------|
| bureau officer  | read                   | all               | any payee         |
| finance officer | read, prepare, approve | all               | any payee         |
| applicant       | no (403) / 404         | own organisation  | own organisation  |
| expert, bank    | no (403) / 404         | no (403) / 404    | no (403) / 404    |
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from wotu.ledger import permissions, reports
from wotu.ledger.models import Commitment, FxRate, PaymentBatch, Tranche
from wotu.organisations.models import Organisation


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def ledger_require_reader(*, user: Any) -> None:
    """Refuses (403) anyone who may not read the whole ledger."""
    _require(permissions.can_read_ledger(user))


def batch_list_for_user(*, user: Any) -> QuerySet[PaymentBatch]:
    ledger_require_reader(user=user)
    return PaymentBatch.objects.select_related("prepared_by").prefetch_related(
        "approvals__approver", "lines"
    )


def batch_get_for_user(*, user: Any, pk: int) -> PaymentBatch:
    """A batch for a ledger reader; 404 for everyone else (a batch mixes many payees)."""
    if not permissions.can_read_ledger(user):
        raise Http404
    try:
        return PaymentBatch.objects.select_related("prepared_by").get(pk=pk)
    except PaymentBatch.DoesNotExist as exc:
        raise Http404 from exc


def commitment_list_for_user(*, user: Any) -> QuerySet[Commitment]:
    """All commitments for ledger readers; an applicant's own organisation's only."""
    queryset = Commitment.objects.select_related("programme", "source", "payee")
    if permissions.can_read_ledger(user):
        return queryset
    if permissions.can_see_own_payments(user):
        return queryset.filter(payee_id=user.organisation_id)
    raise PermissionDenied


def commitment_get_for_user(*, user: Any, pk: int) -> Commitment:
    if not (permissions.can_read_ledger(user) or permissions.can_see_own_payments(user)):
        raise Http404
    try:
        return commitment_list_for_user(user=user).get(pk=pk)
    except Commitment.DoesNotExist as exc:
        raise Http404 from exc


def payee_get_for_user(*, user: Any, pk: int) -> Organisation:
    """The organisation whose statement is asked for: any for ledger readers, the applicant's
    own only; 404 otherwise."""
    if permissions.can_read_ledger(user) or (
        permissions.can_see_own_payments(user) and user.organisation_id == pk
    ):
        try:
            return Organisation.objects.get(pk=pk)
        except Organisation.DoesNotExist as exc:
            raise Http404 from exc
    raise Http404


def payee_statement_for_user(*, user: Any, pk: int) -> reports.Statement:
    return reports.payee_statement(payee=payee_get_for_user(user=user, pk=pk))


def payable_tranches_for_user(*, user: Any) -> QuerySet[Tranche]:
    """What a finance officer may put in a new batch."""
    _require(permissions.can_prepare_payments(user))
    return reports.payable_tranches()


def fx_rate_list_for_user(*, user: Any) -> QuerySet[FxRate]:
    ledger_require_reader(user=user)
    return FxRate.objects.all()
