"""`wotu policies list` and `wotu policies show ID`: the catalogue, its rules and parameters."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from wotu.policies.cli import refusals
from wotu.policies.selectors import (
    PolicyDetail,
    PolicySummary,
    ReferenceInfo,
    policy_describe,
    policy_summaries,
)


def _reference(ref: ReferenceInfo | None) -> str:
    if ref is None:
        return ""
    text = f"{ref['document']} {ref['article']}".strip()
    return text + (f" <{ref['url']}>" if ref["url"] else "")


def _years(policy: PolicySummary) -> str:
    years = policy["years"]
    return f"{years[0]}–{years[1]}" if years else "—"


def summary_lines(policies: list[PolicySummary]) -> list[str]:
    return [
        f"{p['id']}  [{p['kind']}]  {_years(p)}  {p['zh']} / {p['en']}  ({len(p['outputs'])} 项输出"
        f" / outputs)"
        for p in policies
    ]


def detail_lines(policy: PolicyDetail) -> list[str]:
    lines = [
        f"{policy['id']}  {policy['zh']} / {policy['en']}",
        f"类型 / kind: {policy['kind']}    年度 / years: {_years(policy)}",
    ]
    if policy["reference"]:
        lines.append(f"依据 / reference: {_reference(policy['reference'])}")
    for text in (policy["description_zh"], policy["description_en"]):
        if text:
            lines.append(text)
    if policy["tables"]:
        lines.append(f"其他输入表 / extra tables: {', '.join(policy['tables'])}")
    lines += ["", "规则 / rules（* 为输出 / * = output）:"]
    for rule in policy["rules"]:
        mark = "*" if rule["output"] else " "
        lines.append(
            f" {mark} {rule['name']}  {rule['label_zh']} / {rule['label_en']}  [{rule['unit']}]"
        )
        lines.append(f"      依据 / reference: {_reference(rule['reference'])}")
        versions = [
            f"自 / since {v['since']}" if v["since"] else "始终 / always" for v in rule["versions"]
        ]
        lines.append(f"      公式版本 / formula versions: {'; '.join(versions)}")
    for combination in policy["combinations"]:
        cap = f", 上限 / cap {combination['cap']}" if combination["cap"] else ""
        lines.append(
            f"   {combination['name']} = {combination['mode']}({', '.join(combination['rules'])}"
            f"{cap})"
        )
    lines += ["", "参数 / parameters:"]
    for parameter in policy["parameters"]:
        lines.append(
            f"   {parameter['name']}  {parameter['label_zh']} / {parameter['label_en']}"
            f"  [{parameter['unit']}]"
        )
        if parameter["note"]:
            lines.append(f"      注 / note: {parameter['note']}")
        for value in parameter["values"]:
            lines.append(
                f"      自 / since {value['since']}: {value['value_text']}"
                f"  — {_reference(value['reference'])}"
            )
    lines += ["", f"公式哈希 / formulas hash: {policy['formulas_hash']}",
              f"参数哈希 / parameters hash: {policy['parameters_hash']}"]  # fmt: skip
    return lines


class Command(BaseCommand):
    help = "政策目录 / the policy catalogue: `wotu policies list` · `wotu policies show ID`"
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,show}")
        actions.add_parser("list", help="列出全部政策 / list every policy")
        show = actions.add_parser("show", help="规则与参数 / rules and parameters of one policy")
        show.add_argument("policy", help="政策编号 / policy id")

    def handle(self, *args: Any, **options: Any) -> None:
        with refusals(self.stderr):
            if options["action"] == "list":
                lines = summary_lines(policy_summaries())
            else:
                lines = detail_lines(policy_describe(options["policy"]))
        self.stdout.write("\n".join(lines))
