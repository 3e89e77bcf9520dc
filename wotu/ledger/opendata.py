"""Awards and disbursements as open data, in the shape of the 360Giving Data Standard.

One grant per standing commitment (an award from one funding source; Qingdao's city/district
split gives two grants, each with its own funder). Fields used, as the standard names them:
``id``, ``title``, ``description``, ``currency``, ``amountAwarded``, ``amountDisbursed``,
``awardDate``, ``recipientOrganization[id, name]``, ``fundingOrganization[id, name]``,
``plannedDates[startDate, endDate]`` (first and last tranche) and ``grantProgramme[code,
title]``. ``disbursements`` (one entry per payment the bank confirmed) is our addition; the
standard allows extra fields.

Organisation identifiers follow org-id.guide:

* mainland organisations: ``CN-USCI-<USCC>`` — the register's list for the Unified Social
  Credit Identifier (统一社会信用代码) is ``CN-USCI`` (there is no ``CN-USCC``);
* Hong Kong companies whose local number is a Companies Registry number (up to 7 digits):
  ``HK-CR-<number>`` (the list is ``HK-CR``, not ``HK-CRO``);
* everything else (HK Business Registration numbers, HK/MO universities set up by ordinance,
  Macao, which has no company list on org-id.guide, funding sources): our own prefix
  ``settings.WOTU_OPEN_DATA_PREFIX`` (default ``360G-wotu``) followed by the region and the
  local number, e.g. ``360G-wotu-HK-UNI-0001``. Grant ids use the same prefix: ``360G-wotu-C12``.

Never published: people (users, experts, signatories), bank names and account numbers, bank
messages. Amounts are CNY; a payment made in HKD/MOP also gives the amount, currency, rate, rate
date and rate source used.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from wotu.core.money import round_fen
from wotu.ledger import reports
from wotu.ledger.models import Commitment, FundingSource, LineStatus, PaymentLine
from wotu.organisations.models import Kind, Organisation, Region
from wotu.programmes.models import Award

DEFAULT_PREFIX = "360G-wotu"
HK_CR_NUMBER = re.compile(r"^\d{1,7}$")
UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


def open_data_prefix() -> str:
    return str(getattr(settings, "WOTU_OPEN_DATA_PREFIX", DEFAULT_PREFIX))


def _local_part(text: str) -> str:
    return UNSAFE.sub("-", text.strip()).strip("-")


def org_identifier(*, organisation: Organisation) -> str:
    """The organisation's identifier in org-id.guide form (see the module docstring)."""
    if organisation.uscc:
        return f"CN-USCI-{organisation.uscc}"
    local = _local_part(organisation.local_id)
    if (
        organisation.region == Region.HONG_KONG
        and organisation.kind != Kind.UNIVERSITY
        and HK_CR_NUMBER.match(local)
    ):
        return f"HK-CR-{local}"
    local = local or f"ORG{organisation.pk}"
    if not local.upper().startswith(f"{organisation.region}-"):
        local = f"{organisation.region}-{local}"
    return f"{open_data_prefix()}-{local}"


def funder_identifier(*, source: FundingSource) -> str:
    return f"{open_data_prefix()}-FS-{_local_part(source.code)}"


def grant_identifier(*, commitment: Commitment) -> str:
    return f"{open_data_prefix()}-C{commitment.pk}"


def _number(amount: Decimal) -> int | float:
    """A JSON number for an amount in fen. Money stays Decimal everywhere else; here it leaves
    the system, and a float's shortest repr gives back the exact two-decimal value for every
    amount below 10^13."""
    value = round_fen(amount)
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _award_titles(commitments: list[Commitment]) -> dict[int, str]:
    """Project titles of committee awards (``programmes.award``), by commitment."""
    wanted = {
        c.pk: c.award_id
        for c in commitments
        if c.award_type in {"programmes.award", "award"} and c.award_id.isdigit()
    }
    awards = Award.objects.select_related("application").in_bulk({int(v) for v in wanted.values()})
    return {
        pk: awards[int(award_id)].application.title
        for pk, award_id in wanted.items()
        if int(award_id) in awards
    }


def _disbursement(line: PaymentLine, paid_on: dict[int, Any]) -> dict[str, Any]:
    when = paid_on.get(line.pk)
    item: dict[str, Any] = {
        "date": when.isoformat() if when else None,
        "amount": _number(line.amount_cny),
        "currency": "CNY",
    }
    if line.currency != "CNY":
        item.update(
            amountPaid=_number(line.amount),
            currencyPaid=line.currency,
            exchangeRate=str(line.fx_rate) if line.fx_rate is not None else None,
            exchangeRateDate=line.fx_date.isoformat() if line.fx_date else None,
            exchangeRateSource=line.fx_source,
        )
    return item


def open_commitments() -> list[Commitment]:
    return list(
        reports.live_commitments()
        .select_related("programme", "source", "payee")
        .prefetch_related("tranches__lines__batch")
        .order_by("year", "id")
    )


def grant_from_commitment(
    *, commitment: Commitment, title: str | None, paid_on: dict[int, Any]
) -> dict[str, Any]:
    """One 360Giving grant for a commitment (see the module docstring)."""
    c = commitment
    tranches = list(c.tranches.all())
    paid = [x for t in tranches for x in t.lines.all() if x.status == LineStatus.PAID]
    grant: dict[str, Any] = {
        "id": grant_identifier(commitment=c),
        "title": title or f"{c.programme.title}（{c.year}）",
        "description": c.programme.description.strip()
        or f"{c.programme.title}（{c.year}）· {c.source.name} · {c.payee.name}",
        "currency": "CNY",
        "amountAwarded": _number(c.amount),
        "amountDisbursed": _number(sum((x.amount_cny for x in paid), Decimal("0"))),
        "awardDate": timezone.localdate(c.created_at).isoformat(),
        "recipientOrganization": [
            {"id": org_identifier(organisation=c.payee), "name": c.payee.name}
        ],
        "fundingOrganization": [{"id": funder_identifier(source=c.source), "name": c.source.name}],
        "grantProgramme": [{"code": c.programme.code, "title": c.programme.title}],
        "disbursements": [_disbursement(x, paid_on) for x in paid],
    }
    if tranches:
        dates = sorted(t.due_on for t in tranches)
        grant["plannedDates"] = [
            {"startDate": dates[0].isoformat(), "endDate": dates[-1].isoformat()}
        ]
    return grant


def grants_360() -> dict[str, Any]:
    """The whole open data package: ``{"grants": [...]}``, oldest award first."""
    commitments = open_commitments()
    titles = _award_titles(commitments)
    lines = [
        x
        for c in commitments
        for t in c.tranches.all()
        for x in t.lines.all()
        if x.status == LineStatus.PAID
    ]
    paid_on = reports.line_paid_on(lines=lines)
    return {
        "grants": [
            grant_from_commitment(commitment=c, title=titles.get(c.pk), paid_on=paid_on)
            for c in commitments
        ]
    }


def grants_360_json() -> bytes:
    return json.dumps(grants_360(), ensure_ascii=False, indent=2).encode()
