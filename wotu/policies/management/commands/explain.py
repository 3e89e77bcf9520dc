"""`wotu explain --policy ID --year Y [--facts FILE] [--loans FILE] --uscc X [--json]`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from wotu.policies.cli import add_input_arguments, explanation_tree, refusals
from wotu.policies.explain import explain_text


class Command(BaseCommand):
    help = (
        "解释一家企业的每项金额或结论如何得出（含法律依据） / how every amount or verdict for one"
        " enterprise was reached, with the legal reference of each step. Without --facts: the"
        " registry."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        add_input_arguments(parser)
        parser.add_argument("--uscc", required=True, help="统一社会信用代码 / USCC")
        parser.add_argument("--json", action="store_true", help="输出 JSON / print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        with refusals(self.stderr):
            tree = explanation_tree(
                policy_id=options["policy"], year=options["year"], facts=options["facts"],
                loans=options["loans"], uscc=options["uscc"],
            )  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(tree, ensure_ascii=False, indent=2, default=str))
        else:
            self.stdout.write(explain_text(tree), ending="")
