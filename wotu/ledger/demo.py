"""The ledger of the demo, booked through the real services (so every entry is balanced, audited
and idempotent):

- funding sources: the city, each district of the registry, the provincial joint fund;
- a direct-award programme for the Qingdao plan's newest run, its awards committed half from the
  city and half from the firm's district (the seed: subsidies split between city and district
  money), one tranche each, due today;
- a payment batch prepared by `finance`, approved by `finance2`, sent to the bank, and the bank's
  return booked (one line failed, so its tranche is payable again); a second batch awaiting
  approval;
- the cross-border case of the seed: CNY 38 M committed to HKUST under the joint research
  programme and paid in HKD at a recorded rate (two approvers besides the preparer, since it is
  above the threshold), and a Macao university paid into its RMB account.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from wotu.core.districts import DISTRICTS
from wotu.core.models import Role, User
from wotu.ledger import payments
from wotu.ledger import services as ledger
from wotu.ledger.fx import fx_rates_import
from wotu.ledger.models import (
    Commitment,
    Currency,
    FundingSource,
    PayeeAccount,
    SourceKind,
    Tranche,
    TrancheStatus,
)
from wotu.organisations.models import Organisation
from wotu.programmes import services as programmes
from wotu.programmes.models import Programme

CITY = "qd-city"
PROVINCIAL = "gd-provincial-joint"
#: Illustrative CNY per unit rates, marked as such in their source (policy-facts §7: which rate
#: applies is unconfirmed; every payment records the one it used).
DEMO_RATES = {Currency.HKD: Decimal("0.912600"), Currency.MOP: Decimal("0.886000")}
RATE_SOURCE = "演示汇率（仿人民银行中间价）/ demo rate (modelled on the PBoC central parity)"


def _sources() -> tuple[FundingSource, FundingSource]:
    city, _ = FundingSource.objects.get_or_create(
        code=CITY, defaults={"kind": SourceKind.CITY, "name": "青岛市本级财政",
                             "name_en": "Qingdao municipal budget"},
    )  # fmt: skip
    for code, (zh, en) in DISTRICTS.items():
        FundingSource.objects.get_or_create(
            code=f"district-{code}",
            defaults={"kind": SourceKind.DISTRICT, "name": f"{zh}财政", "name_en": f"{en} budget",
                      "district_code": code},
        )  # fmt: skip
    provincial, _ = FundingSource.objects.get_or_create(
        code=PROVINCIAL, defaults={"kind": SourceKind.PROVINCIAL, "name": "省市联合基金",
                                   "name_en": "Provincial–city joint fund"},
    )  # fmt: skip
    return city, provincial


def _bank_account(organisation: Organisation, currency: str = Currency.CNY) -> None:
    """A payee account with a made-up number derived from the organisation's id."""
    number = f"6222{organisation.pk:012d}{ {'CNY': 0, 'HKD': 1, 'MOP': 2}[currency] }"
    PayeeAccount.objects.get_or_create(
        organisation=organisation, account_number=number,
        defaults={"bank_name": "中国银行" if organisation.region == "CN" else "中国银行（香港）",
                  "account_name": organisation.name, "currency": currency,
                  "preferred": currency != Currency.CNY or organisation.region == "CN"},
    )  # fmt: skip


def _policy_programme(bureau: User, run: Any) -> Programme:
    code = f"{run.policy_id}-{run.year}"
    found = Programme.objects.filter(code=code).first()
    if found is not None:
        return found
    total = sum((r.amount for r in run.results.all()), Decimal(0))
    return programmes.programme_create(
        actor=bureau, code=code, title=f"沃土计划奖补（{run.year} 年度）",
        title_en=f"Fertile Soil plan awards ({run.year})", year=run.year,
        budget=total, kinds=["enterprise"], regions=["CN"], pipeline=[],
        description="直接奖补：金额由政策运行计算，市、区财政各承担一半。",
    )  # fmt: skip


def _allocate_for_run(*, programme: Programme, run: Any, city: FundingSource, bureau: User) -> None:
    """Half of the run's total from the city, half from each district, plus 5 % headroom."""
    by_district: dict[str, Decimal] = {}
    for result in run.results.all():
        by_district[result.district_code] = by_district.get(result.district_code, Decimal(0)) + (
            result.amount
        )
    city_need = sum(by_district.values(), Decimal(0)) / 2
    needs = [(city, city_need)]
    needs += [
        (FundingSource.objects.get(code=f"district-{code}"), amount / 2)
        for code, amount in sorted(by_district.items())
    ]
    for source, need in needs:
        amount = (need * Decimal("1.05")).quantize(Decimal("1"))
        if amount > 0:
            ledger.budget_allocate(
                programme=programme, year=run.year, source=source, amount=amount, actor=bureau,
                key=f"demo-allocate-{programme.code}-{source.code}",
            )  # fmt: skip


def _schedule_today(commitments: list[Commitment], bureau: User, today: dt.date) -> None:
    for commitment in commitments:
        if not commitment.tranches.exists():
            ledger.schedule_set(
                commitment=commitment, tranches=[{"due_on": today, "amount": commitment.amount}],
                actor=bureau,
            )  # fmt: skip
    ledger.tranches_release(today=today, actor=bureau)


def _pay(*, tranches: list[Tranche], preparer: User, approvers: list[User], key: str,
         fail: int | None = None) -> str:  # fmt: skip
    batch = payments.batch_prepare(tranches=tranches, actor=preparer, key=f"{key}-prepare")
    payments.batch_submit(batch=batch, actor=preparer, key=f"{key}-submit")
    for n, approver in enumerate(approvers):
        payments.batch_approve(batch=batch, actor=approver, key=f"{key}-approve-{n}")
    if len(approvers) < payments.approvals_needed(batch=batch):
        return f"{batch.reference} 待审批 / awaiting approval"
    payments.batch_export(batch=batch, actor=preparer, key=f"{key}-export")
    lines = list(batch.lines.order_by("pk"))
    rows = ["reference,status,message"] + [
        f"{line.reference},{'failed' if n == fail else 'paid'},"
        f"{'账户户名不符 / account name mismatch' if n == fail else 'OK'}"
        for n, line in enumerate(lines)
    ]
    payments.bank_return_import(
        batch=batch, data="\n".join(rows).encode(), actor=preparer, key=f"{key}-return"
    )
    return f"{batch.reference} {len(lines)} 笔 / lines"


def ledger_demo_ensure() -> str:
    """Build the demo ledger once (skipped when any commitment exists)."""
    from wotu.policies.models import PolicyRun, RunKind, RunStatus
    from wotu.programmes.demo import GUANGZHOU

    if Commitment.objects.exists():
        return "已建成，跳过 / already built, skipped"
    bureau = User.objects.filter(username="bureau").first()
    finance = list(User.objects.filter(role=Role.FINANCE_OFFICER).order_by("username"))
    run = (
        PolicyRun.objects.filter(policy_id="qingdao-wotu-2021", kind=RunKind.EVALUATE,
                                 status=RunStatus.DONE, baseline__isnull=True)
        .order_by("-year", "-pk").first()
    )  # fmt: skip
    if bureau is None or len(finance) < 3 or run is None:
        return "缺少账号或政策运行，跳过 / logins or the policy run missing, skipped"
    preparer, second, third = finance[0], finance[1], finance[2]
    today = timezone.localdate()
    city, provincial = _sources()
    made = []

    programme = _policy_programme(bureau, run)
    _allocate_for_run(programme=programme, run=run, city=city, bureau=bureau)
    commitments = ledger.commitments_from_policy_run(
        run=run, programme=programme, split={city: Decimal("0.5"), "district": Decimal("0.5")},
        actor=bureau, key=f"demo-commit-run-{run.pk}",
    )  # fmt: skip
    for payee_id in {c.payee_id for c in commitments}:
        _bank_account(Organisation.objects.get(pk=payee_id))
    _schedule_today(commitments, bureau, today)
    made.append(f"{len(commitments)} 项承诺 / commitments")
    payable = list(
        Tranche.objects.filter(status=TrancheStatus.PAYABLE, commitment__programme=programme)
        .order_by("amount", "pk")
    )  # fmt: skip
    made.append(_pay(tranches=payable[:12], preparer=preparer, approvers=[second],
                     key="demo-batch-1", fail=2))  # fmt: skip
    made.append(_pay(tranches=payable[-6:], preparer=preparer, approvers=[second],
                     key="demo-batch-2"))  # fmt: skip

    made.append(
        _cross_border(bureau=bureau, provincial=provincial, today=today, preparer=preparer,
                      approvers=[second, third], gz=GUANGZHOU)
    )  # fmt: skip
    return "；".join(made)


def _cross_border(*, bureau: User, provincial: FundingSource, today: dt.date, preparer: User,
                  approvers: list[User], gz: str) -> str:  # fmt: skip
    programme = Programme.objects.filter(code=gz).first()
    hkust = Organisation.objects.filter(region="HK", local_id="HK-UNI-0001").first()
    macau = Organisation.objects.filter(region="MO", local_id="MO-UNI-0001").first()
    if programme is None or hkust is None or macau is None:
        return "无跨境项目，跳过 / no cross-border programme, skipped"
    rates = "date,currency,rate\n" + "\n".join(
        f"{today - dt.timedelta(days=back)},{currency},{rate}"
        for back in range(7)
        for currency, rate in DEMO_RATES.items()
    )
    fx_rates_import(data=rates.encode(), name="rates.csv", source=RATE_SOURCE, actor=preparer)
    ledger.budget_allocate(
        programme=programme, year=programme.year, source=provincial,
        amount=Decimal("60000000"), actor=bureau, key="demo-allocate-gz",
    )  # fmt: skip
    _bank_account(hkust, Currency.HKD)
    _bank_account(hkust, Currency.CNY)
    _bank_account(macau, Currency.CNY)
    commitments = [
        ledger.commitment_create(
            award_type="demo.joint_lab",
            award_id=str(payee.pk),
            programme=programme,
            year=programme.year,
            source=provincial,
            payee=payee,
            amount=amount,
            actor=bureau,
            key=f"demo-commit-gz-{payee.pk}",
        )
        for payee, amount in ((hkust, Decimal("38000000")), (macau, Decimal("2000000")))
    ]
    _schedule_today(commitments, bureau, today)
    tranches = list(Tranche.objects.filter(commitment__in=commitments))
    return "跨境 / cross-border " + _pay(
        tranches=tranches, preparer=preparer, approvers=approvers, key="demo-batch-gz"
    )
