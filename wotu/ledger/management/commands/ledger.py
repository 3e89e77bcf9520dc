"""`wotu ledger …`: budgets, commitments, payment batches, bank files and exchange rates from
the command line (the same services as the API and the finance pages).

    wotu ledger allocate --programme CODE --year Y --source CODE --amount A --user U --key K
    wotu ledger commit (--award TYPE:ID --payee P --amount A | --run ID --split S | --call ID)
                       --programme CODE --year Y --source CODE --user U --key K
    wotu ledger batch prepare (--tranches 1,2,3 | --all-payable) [--on DATE] --user U --key K
    wotu ledger batch submit|approve BATCH --user U [--key K]
    wotu ledger batch export BATCH --out FILE --user U --key K
    wotu ledger batch return BATCH FILE --user U --key K
    wotu ledger fx-import FILE [--source S] --user U
    wotu ledger trial-balance

``--user`` names who acts (their role is checked as in the web pages); ``--key`` is the
idempotency key: running the same command again with the same key books nothing twice and
prints the first result; the same key with other arguments is refused. A refusal exits 1 with
the reason in Chinese and English; a file with bad rows prints every ``row N, column C, value
V: reason`` first.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from wotu.core.cli_support import refusals, user_named
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.ledger import payments, permissions, services
from wotu.ledger.fx import fx_rates_import
from wotu.ledger.models import FundingSource, PaymentBatch, Tranche, TrancheStatus
from wotu.ledger.posting import trial_balance
from wotu.organisations.models import Organisation
from wotu.programmes.models import Call, Programme

KEY_HELP = "幂等键：同一键重复执行只记账一次 / idempotency key: a rerun with it books nothing twice"
USER_HELP = "执行人用户名（须为财务人员）/ username of who acts (a finance officer)"


def _get(model: Any, what_zh: str, what_en: str, **lookup: Any) -> Any:
    found = model.objects.filter(**lookup).first()
    if found is None:
        shown = ", ".join(str(v) for v in lookup.values())
        raise WotuError(f"找不到{what_zh} {shown}", f"no {what_en} {shown}")
    return found


def _user(username: str) -> User:
    """The active account acting (a deactivated one acts for nobody)."""
    return user_named(username)


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation as exc:
        raise WotuError(f"金额 {text} 不是数字", f"the amount {text} is not a number") from exc


def _payee(text: str) -> Organisation:
    """An organisation by id, USCC or HK/MO local id."""
    if text.isdigit() and len(text) < 18:
        payee: Organisation = _get(Organisation, "单位", "organisation", pk=int(text))
        return payee
    found = (
        Organisation.objects.filter(uscc=text).first()
        or Organisation.objects.filter(local_id=text).first()
    )
    if found is None:
        raise WotuError(f"找不到单位 {text}", f"no organisation {text}")
    return found


def _batch(text: str) -> PaymentBatch:
    """A batch by reference (PB…) or id."""
    if text.isdigit():
        batch: PaymentBatch = _get(PaymentBatch, "付款批次", "payment batch", pk=int(text))
        return batch
    batch = _get(PaymentBatch, "付款批次", "payment batch", reference=text)
    return batch


def _split(text: str) -> dict[FundingSource | str, Decimal]:
    """``city-qd=0.5,district=0.5`` → {source or "district": share}."""
    split: dict[FundingSource | str, Decimal] = {}
    for part in text.split(","):
        code, _, share = part.partition("=")
        code = code.strip()
        source: FundingSource | str = (
            "district"
            if code == "district"
            else _get(FundingSource, "资金来源", "source", code=code)
        )
        split[source] = _amount(share)
    return split


class Command(BaseCommand):
    help = (
        "账簿与付款 / the ledger and payments: allocate, commit, batch prepare|submit|approve|"
        "export|return, fx-import, trial-balance"
    )

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        allocate = actions.add_parser(
            "allocate", help="下达预算 / give a programme's budget for a year from a source"
        )
        self._budget_args(allocate)
        allocate.add_argument("--amount", required=True, help="金额（元）/ amount (CNY)")
        self._actor_args(allocate)

        commit = actions.add_parser("commit", help="承诺奖励资金 / commit awards to a budget")
        commit.add_argument("--programme", help="项目编号 / programme code")
        commit.add_argument("--year", type=int, help="年度 / year")
        commit.add_argument("--source", help="资金来源编号 / funding source code")
        commit.add_argument("--award", help="奖励 TYPE:ID / the award, e.g. programmes.award:12")
        commit.add_argument(
            "--payee", help="收款单位 id、USCC 或港澳编号 / payee id, USCC, local id"
        )
        commit.add_argument("--amount", help="金额（元）/ amount (CNY)")
        commit.add_argument("--run", type=int, help="策略运行编号 / a finished policy run's id")
        commit.add_argument(
            "--split", help="分担比例，如 city-qd=0.5,district=0.5 / funding shares by source"
        )
        commit.add_argument("--call", type=int, help="按评审决定承诺 / commit a call's awards")
        self._actor_args(commit)

        batch = actions.add_parser("batch", help="付款批次 / payment batches")
        steps = batch.add_subparsers(dest="step", required=True)
        prepare = steps.add_parser("prepare", help="准备批次 / prepare a batch of tranches")
        chosen = prepare.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--tranches", help="分期编号，逗号分隔 / tranche ids, comma-separated")
        chosen.add_argument(
            "--all-payable", action="store_true", help="全部应付分期 / every payable tranche"
        )
        prepare.add_argument(
            "--on", type=dt.date.fromisoformat, help="付款日期（选汇率）/ payment date (FX rate)"
        )
        self._actor_args(prepare)
        for name, text in (
            ("submit", "提交审批 / submit a draft batch for approval"),
            ("approve", "审批批次 / approve a submitted batch"),
        ):
            step = steps.add_parser(name, help=text)
            step.add_argument("batch", help="批次编号或 id / batch reference or id")
            self._actor_args(step, key_required=False)
        export = steps.add_parser("export", help="导出银行付款文件 / write the bank payment file")
        export.add_argument("batch", help="批次编号或 id / batch reference or id")
        export.add_argument("--out", type=Path, required=True, help="输出 CSV / output CSV file")
        self._actor_args(export)
        returned = steps.add_parser("return", help="导入银行回单 / book the bank's return file")
        returned.add_argument("batch", help="批次编号或 id / batch reference or id")
        returned.add_argument("file", type=Path, help="回单 CSV/XLSX / return file")
        self._actor_args(returned)

        fx = actions.add_parser("fx-import", help="导入汇率表 / import a rate table")
        fx.add_argument("file", type=Path, help="CSV/XLSX: date, currency, rate[, source]")
        fx.add_argument("--source", default="", help="汇率来源 / the rates' source")
        fx.add_argument("--user", required=True, help=USER_HELP)
        fx.add_argument("--quiet", action="store_true", help="不显示进度条 / no progress bar")

        actions.add_parser("trial-balance", help="试算平衡 / the sum of postings per currency")

    @staticmethod
    def _budget_args(parser: Any) -> None:
        parser.add_argument("--programme", required=True, help="项目编号 / programme code")
        parser.add_argument("--year", type=int, required=True, help="年度 / year")
        parser.add_argument("--source", required=True, help="资金来源编号 / funding source code")

    @staticmethod
    def _actor_args(parser: Any, *, key_required: bool = True) -> None:
        parser.add_argument("--user", required=True, help=USER_HELP)
        parser.add_argument("--key", required=key_required, help=KEY_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        with refusals(self.stderr):
            action = options["action"]
            if action == "trial-balance":
                self._trial_balance()
            elif action == "allocate":
                self._allocate(options)
            elif action == "commit":
                self._commit(options)
            elif action == "fx-import":
                self._fx_import(options)
            else:
                self._batch(options)

    # --- actions ------------------------------------------------------------------------

    def _trial_balance(self) -> None:
        totals = trial_balance()
        for currency, total in totals.items():
            self.stdout.write(f"{currency}  {total}")
        if any(total != 0 for total in totals.values()):
            raise CommandError("试算不平衡 / the trial balance is not zero")
        self.stdout.write("试算平衡 / the trial balance is zero in every currency")

    def _allocate(self, options: dict[str, Any]) -> None:
        programme = _get(Programme, "项目", "programme", code=options["programme"])
        source = _get(FundingSource, "资金来源", "funding source", code=options["source"])
        entry = services.budget_allocate(
            programme=programme, year=options["year"], source=source,
            amount=_amount(options["amount"]), actor=_user(options["user"]), key=options["key"],
        )  # fmt: skip
        left = services.budget_left(programme=programme, year=options["year"], source=source)
        self.stdout.write(f"分录 / entry #{entry.pk}; 可承诺余额 / left to commit: CNY {left}")

    def _commit(self, options: dict[str, Any]) -> None:
        actor, key = _user(options["user"]), options["key"]
        if options["call"] is not None:
            call = _get(Call, "征集", "call", pk=options["call"])
            source = _get(FundingSource, "资金来源", "funding source", code=options["source"])
            made = services.commitments_from_decision(call=call, source=source, actor=actor,
                                                      key=key)  # fmt: skip
        elif options["run"] is not None:
            from wotu.policies.models import PolicyRun

            run = _get(PolicyRun, "策略运行", "policy run", pk=options["run"])
            programme = _get(Programme, "项目", "programme", code=options["programme"])
            made = services.commitments_from_policy_run(
                run=run, programme=programme, split=_split(options["split"] or ""),
                actor=actor, key=key,
            )  # fmt: skip
        else:
            award_type, _, award_id = (options["award"] or "").partition(":")
            if not award_id or not options["payee"] or not options["amount"]:
                raise WotuError(
                    "请给出 --award TYPE:ID、--payee 和 --amount（或 --run / --call）",
                    "give --award TYPE:ID, --payee and --amount (or --run / --call)",
                )
            made = [services.commitment_create(
                award_type=award_type, award_id=award_id,
                programme=_get(Programme, "项目", "programme", code=options["programme"]),
                year=options["year"],
                source=_get(FundingSource, "资金来源", "funding source", code=options["source"]),
                payee=_payee(options["payee"]), amount=_amount(options["amount"]),
                actor=actor, key=key,
            )]  # fmt: skip
        total = sum((c.amount for c in made), Decimal("0.00"))
        self.stdout.write(f"承诺 / commitments: {len(made)}; 合计 / total: CNY {total}")

    def _fx_import(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise WotuError(f"找不到文件 {path}", f"file not found: {path}")
        actor = _user(options["user"])
        if not permissions.can_prepare_payments(actor):
            raise payments.PaymentNotAllowed(
                "只有财务人员可以导入汇率表", "only finance officers may import rate tables"
            )
        bar = tqdm(
            total=None, file=self.stderr._out, disable=options["quiet"], unit="row",
            desc="导入汇率 / importing rates", leave=False,
        )  # fmt: skip

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            result = fx_rates_import(
                data=path.read_bytes(), name=path.name, source=options["source"], actor=actor,
                progress=progress,
            )  # fmt: skip
        finally:
            bar.close()
        self.stdout.write(
            f"汇率 / rates: {result.rows} 行 / rows, 新增 / created {result.created},"
            f" 未变 / unchanged {result.unchanged}"
        )

    def _batch(self, options: dict[str, Any]) -> None:
        actor, key, step = _user(options["user"]), options["key"], options["step"]
        if step == "prepare":
            if options["all_payable"]:
                ids = list(
                    Tranche.objects.filter(status=TrancheStatus.PAYABLE).values_list(
                        "pk", flat=True
                    )
                )
            else:
                ids = [int(x) for x in options["tranches"].split(",") if x.strip()]
            batch = payments.batch_prepare(tranches=ids, actor=actor, key=key, today=options["on"])
            self._batch_line(batch)
        elif step in {"submit", "approve"}:
            act = payments.batch_submit if step == "submit" else payments.batch_approve
            self._batch_line(act(batch=_batch(options["batch"]), actor=actor, key=key))
        elif step == "export":
            content = payments.batch_export(batch=_batch(options["batch"]), actor=actor, key=key)
            options["out"].write_bytes(content)
            self.stdout.write(f"付款文件 / payment file: {options['out']}")
        else:
            self._return(options, actor=actor, key=key)

    def _return(self, options: dict[str, Any], *, actor: User, key: str) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise WotuError(f"找不到文件 {path}", f"file not found: {path}")
        result = payments.bank_return_import(
            batch=_batch(options["batch"]), data=path.read_bytes(), actor=actor, key=key,
            name=path.name,
        )  # fmt: skip
        self.stdout.write(
            f"已付 / paid {result['paid']}, 失败 / failed {result['failed']},"
            f" 待回复 / pending {result['pending']}; 批次状态 / batch: {result['status']}"
        )

    def _batch_line(self, batch: PaymentBatch) -> None:
        total = payments.batch_total(batch=batch)
        self.stdout.write(
            f"{batch.reference}  {batch.status}  CNY {total}  ({batch.lines.count()} 笔 / lines;"
            f" 需 {payments.approvals_needed(batch=batch)} 人审批 / approvals needed,"
            f" 已有 / given {batch.approvals.count()})"
        )
