"""Who may do what with money. Views, API endpoints and the CLI ask here; they never decide alone.

| role            | ledger and reports | prepare batches | approve batches        | own payments |
|-----------------|--------------------|-----------------|------------------------|--------------|
| bureau officer  | read all           | no              | no                     | -            |
| finance officer | read all           | yes             | yes, never own batches | -            |
| applicant       | no                 | no              | no                     | own org only |
| expert, bank    | no                 | no              | no                     | no           |
| superuser       | as bureau officer (reads; never moves money)                       |

"Own payments" means the awards, commitments, tranches and payment lines whose payee is the
applicant's organisation; callers filter by ``user.organisation_id``.
"""

from __future__ import annotations

from typing import Any

from wotu.core.models import Role, User
from wotu.core.permissions import _role


def can_prepare_payments(user: User | Any) -> bool:
    """Prepare, submit and export payment batches, import bank returns, book charges."""
    return _role(user) == Role.FINANCE_OFFICER


def can_approve_payments(user: User | Any, batch: Any) -> bool:
    """A finance officer other than the batch's preparer (four eyes). ``batch`` is a
    :class:`~wotu.ledger.models.PaymentBatch` (anything with ``prepared_by_id``)."""
    if _role(user) != Role.FINANCE_OFFICER:
        return False
    return bool(batch.prepared_by_id != user.pk)


def can_read_ledger(user: User | Any) -> bool:
    """Every account, entry, commitment, batch and report."""
    return _role(user) in {Role.BUREAU_OFFICER, Role.FINANCE_OFFICER}


def can_see_own_payments(user: User | Any) -> bool:
    """An applicant: its own organisation's awards, commitments and payments only."""
    return _role(user) == Role.APPLICANT and getattr(user, "organisation_id", None) is not None
