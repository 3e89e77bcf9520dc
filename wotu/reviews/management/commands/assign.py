"""`wotu assign --applications A --experts E [--conflicts C] [--affinity S] --per-application K
--max-load L [--min-hkmo M] [--seed N] --out FILE` (design.md, "Expert assignment")."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wotu.organisations.facts_io import TableFileError
from wotu.policies.cli import Steps, stream_of
from wotu.reviews.assignment import (
    AssignmentInfeasible,
    AssignmentInputError,
    assignment_solve,
    file_sha256,
    instance_read,
    result_write,
)


class Command(BaseCommand):
    help = (
        "分配评审专家：每个申请 K 名，回避冲突，专家不超最大评审量，亲和度最大 / assign K experts"
        " per application: no conflicts, no expert over its maximum load, total affinity"
        " maximised, loads spread. Writes application_id, expert_id, affinity."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--applications", type=Path, required=True, help="申请 / applications")
        parser.add_argument("--experts", type=Path, required=True, help="专家 / experts")
        parser.add_argument("--conflicts", type=Path, help="声明的回避 / declared conflicts")
        parser.add_argument("--affinity", type=Path, help="亲和度 / affinity scores")
        parser.add_argument("--per-application", type=int, required=True, help="K")
        parser.add_argument("--max-load", type=int, required=True, help="每名专家上限 / L")
        parser.add_argument(
            "--min-hkmo",
            type=int,
            help="needs_hkmo 申请至少的港澳专家数（默认 1）/ HK/MO experts on applications"
            " marked needs_hkmo (default 1; without that column: on every application)",
        )
        parser.add_argument("--seed", type=int, default=0, help="随机种子 / seed (CP-SAT)")
        parser.add_argument("--out", type=Path, required=True, help="输出文件 / output file")
        parser.add_argument("--quiet", action="store_true", help="不显示进度条 / no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        steps = Steps(total=3, stream=stream_of(self.stderr), quiet=options["quiet"])
        files = [options[k] for k in ("applications", "experts", "conflicts", "affinity")]
        try:
            steps.start("读取数据", "reading files")
            instance = instance_read(
                applications=options["applications"],
                experts=options["experts"],
                conflicts=options["conflicts"],
                affinity=options["affinity"],
                per_application=options["per_application"],
                max_load=options["max_load"],
                min_hkmo=options["min_hkmo"],
            )
            steps.done()
            steps.start("求解", "solving")
            result = assignment_solve(instance, seed=options["seed"])
            steps.done()
            steps.start("写出", "writing")
            result_write(result, options["out"])
            steps.done()
        except (AssignmentInputError, AssignmentInfeasible, TableFileError) as exc:
            raise CommandError(f"{exc.zh}\n{exc.en}") from exc
        finally:
            steps.close()
        loads = list(result.loads.values())
        digest = file_sha256([f for f in files if f is not None])
        self.stderr.write(
            f"applications {len(instance.applications)}, experts {len(instance.experts)},"
            f" allowed pairs {result.allowed_pairs}, assigned pairs {len(result.pairs)},"
            f" total affinity {result.total_affinity:g}, load min {min(loads)} max {max(loads)},"
            f" solver {result.solver} (OR-Tools {version('ortools')}), seed {options['seed']},"
            f" input sha256 {digest}"
        )
        self.stdout.write(
            f"已写出 {len(result.pairs)} 个分配到 {options['out']}\n"
            f"wrote {len(result.pairs)} assignments to {options['out']}"
        )
