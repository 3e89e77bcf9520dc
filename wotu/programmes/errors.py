"""What the programme services refuse with, and the names and times their messages show.

:class:`Invalid` reports every problem at once (one
:class:`~wotu.programmes.formschema.FieldError` per field, in Chinese and English); nothing is
written when anything is invalid. :class:`Refused` is a role refusal (403 in the API). Times are
shown in Asia/Shanghai whatever zone they are stored in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from wotu.core import permissions
from wotu.core.errors import WotuError
from wotu.core.money import round_fen
from wotu.programmes.formschema import FieldError

SHANGHAI = ZoneInfo("Asia/Shanghai")
KIND_ZH = {"enterprise": "企业", "university": "高校", "institute": "科研院所", "bank": "银行"}
REGION_ZH = {"CN": "内地", "HK": "香港", "MO": "澳门"}
REGION_EN = {"CN": "the mainland", "HK": "Hong Kong", "MO": "Macao"}


class Invalid(WotuError):
    """Several problems at once, each tied to a field (``errors``); nothing was saved."""

    def __init__(self, errors: Sequence[FieldError], *, zh: str = "", en: str = "") -> None:
        self.errors = list(errors)
        count = len(self.errors)
        head_zh = zh or f"有 {count} 处需要修改"
        head_en = en or f"{count} problem{'s' if count != 1 else ''} to correct"
        super().__init__(
            f"{head_zh}：" + "；".join(e.message_zh for e in self.errors),
            f"{head_en}: " + "; ".join(e.message_en for e in self.errors),
        )


class Refused(PermissionDenied):
    """The role may not do this; ``zh``/``en`` say what (the API answers 403 with them)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def shanghai(moment: dt.datetime) -> str:
    """``2026-03-31 17:00`` in Asia/Shanghai, whatever zone ``moment`` is in."""
    return timezone.localtime(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M")


def manager_require(actor: Any) -> None:
    if not permissions.can_manage_programmes(actor):
        raise Refused(
            "只有科技局工作人员可以管理计划和申报", "only bureau officers manage programmes"
        )


def officer_require(*, actor: Any, what_zh: str, what_en: str) -> None:
    """Refused unless ``actor`` is a bureau officer; ``what_zh``/``what_en`` name the act."""
    if not permissions.can_manage_programmes(actor):
        raise Refused(f"只有科技局工作人员可以{what_zh}", f"only a bureau officer may {what_en}")


def amount_positive(*, raw: Any, what_zh: str, what_en: str) -> Decimal:
    """``raw`` as an amount in CNY rounded to the fen; WotuError naming ``what_zh``/``what_en``
    when it is not a number or not above 0."""
    try:
        amount = round_fen(Decimal(str(raw)))
    except (InvalidOperation, ValueError) as exc:
        raise WotuError(
            f"{what_zh}「{raw}」不是金额", f"{what_en} '{raw}' is not an amount"
        ) from exc
    if amount <= 0:
        raise WotuError(
            f"{what_zh}须大于 0，收到 {amount}", f"{what_en} must be above 0, got {amount}"
        )
    return amount
