"""Money: Decimal with two places, rounded half-up to the fen. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db import models

FEN = Decimal("0.01")


def round_fen(amount: Decimal) -> Decimal:
    """The one rounding helper: half-up to 0.01."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def money_field(verbose_name: Any, *, null: bool = False) -> models.DecimalField[Any, Any]:
    # Imported here so that reading facts and evaluating policies (which round money) do not
    # pay for importing Django's ORM: the engine runs outside Django in benchmarks and workers.
    from django.db import models

    return models.DecimalField(verbose_name, max_digits=20, decimal_places=2, null=null, blank=null)
