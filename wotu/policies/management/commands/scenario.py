"""`wotu scenario --policy ID --year Y [--facts FILE] --set PARAM=VALUE … [--out FILE]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wotu.organisations.facts_io import table_format
from wotu.policies.cli import (
    Steps,
    add_input_arguments,
    comparison_text,
    frame_write,
    refusals,
    scenario_compare,
    scenario_outcomes,
    scenario_table,
    stream_of,
)
from wotu.policies.outcomes import overrides_parse
from wotu.policies.selectors import run_compare
from wotu.policies.services import run_create


class Command(BaseCommand):
    help = (
        "情景分析：修改参数后与基准比较（按政策与区划的合计、受益企业、增减企业、预算影响）"
        " / what if a parameter changed: the scenario against the baseline — totals per scheme"
        " and district, beneficiaries, winners and losers, budget impact. Without --facts the"
        " registry is read; --record also stores both runs."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        add_input_arguments(parser)
        parser.add_argument(
            "--set", dest="assignments", action="append", required=True, metavar="PARAM=VALUE",
            help="参数新值，可重复 / a parameter's new value (repeatable),"
                 " e.g. hitech_first_cert.rd_cap=500000",
        )  # fmt: skip
        parser.add_argument("--out", type=Path, help="每家企业的增减 / per-firm changes (file)")
        parser.add_argument("--record", action="store_true", help="记录两次运行 / record the runs")
        parser.add_argument("--name", default="", help="情景名称 / scenario name (--record)")
        parser.add_argument("--top", type=int, default=10, help="列出前 N 家 / list the top N")
        parser.add_argument("--json", action="store_true", help="输出 JSON / print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["record"] and options["facts"]:
            raise CommandError(
                "--record 记录的是基于登记库的运行：请去掉 --facts\n"
                "--record stores runs over the registry: leave out --facts"
            )
        with refusals(self.stderr):
            overrides = overrides_parse(options["assignments"])
            if options["out"]:
                table_format(options["out"])
            if options["record"]:
                comparison = self._recorded(options, overrides)
            else:
                comparison = self._in_memory(options, overrides)
        if options["json"]:
            self.stdout.write(json.dumps(comparison, ensure_ascii=False, indent=2, default=str))
        else:
            self.stdout.write(comparison_text(comparison, top=options["top"]))

    def _in_memory(self, options: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        steps = Steps(total=4, stream=stream_of(self.stderr), quiet=options["quiet"])
        baseline, scenario = scenario_outcomes(
            policy_id=options["policy"], year=options["year"], facts=options["facts"],
            loans=options["loans"], overrides=overrides, steps=steps,
        )  # fmt: skip
        if options["out"]:
            steps.start("写出", "writing")
            frame_write(scenario_table(baseline, scenario), options["out"])
        steps.done()
        steps.close()
        return scenario_compare(baseline, scenario, limit=options["top"])

    def _recorded(self, options: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        if options["loans"]:
            raise CommandError(
                "--record 暂不支持 --loans（运行只读取登记库）\n"
                "--record does not take --loans yet (runs read the registry only)"
            )
        policy_id, year = options["policy"], options["year"]
        baseline = run_create(user=None, policy_id=policy_id, year=year, immediately=True)
        scenario = run_create(
            user=None, policy_id=policy_id, year=year, overrides=overrides, baseline=baseline,
            scenario=options["name"], immediately=True,
        )  # fmt: skip
        for run in (baseline, scenario):
            if run.error_en:
                raise CommandError(f"运行 #{run.pk}：{run.error_zh}\nrun #{run.pk}: {run.error_en}")
        self.stderr.write(f"已记录运行 / recorded runs: #{baseline.pk} (基准 / baseline), "
                          f"#{scenario.pk} (情景 / scenario)")  # fmt: skip
        comparison = run_compare(
            user=None, baseline=baseline, scenario=scenario, limit=options["top"]
        )
        if options["out"]:
            self.stderr.write("注意：--record 时 --out 未写出 / note: --out is not written with"
                              " --record; export the runs' results instead")  # fmt: skip
        return comparison
