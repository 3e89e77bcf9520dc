"""`wotu synth`: generate a synthetic city — to a file, into the database, or both."""

from __future__ import annotations

import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from wotu.core.errors import WotuError
from wotu.organisations.facts_io import TableFileError, table_format
from wotu.organisations.synth import (
    DEFAULT_SEED,
    city_generate,
    city_import,
    city_write,
    count_parse,
    partners_ensure,
    seed_parse,
    years_parse,
)

STAGES = {
    "simulate": ("模拟", "simulating", "step"),
    "rows": ("生成数据列", "building columns", "column"),
    "validate": ("校验", "validating", "row"),
    "write": ("写入数据库", "writing", "row"),
}


class ProgressBars:
    """One tqdm bar per stage on ``stream``; ``None`` shows nothing. Call as a Progress."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.stage = ""
        self.bar: tqdm[Any] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.stream is None:
            return
        if stage != self.stage:
            self.close()
            zh, en, unit = STAGES.get(stage, (stage, stage, "it"))
            self.bar = tqdm(total=total, desc=f"{zh} / {en}", unit=unit, file=self.stream)
            self.stage = stage
        if self.bar is not None:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        """Finish the current bar (a stage that reported only its start ran to the end)."""
        if self.bar is not None:
            self.bar.update(max(self.bar.total - self.bar.n, 0))
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = (
        "生成合成城市（企业年度数据、高校、研究机构、合作银行）/ generate a synthetic city: "
        "`wotu synth --enterprises N --years 2019-2023 --seed S --out FILE` and/or `--into-db`"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--enterprises", default="2000", help="企业数 / number of enterprises")
        parser.add_argument("--years", default="2019-2023", help="年度范围 / years, e.g. 2019-2023")
        parser.add_argument("--seed", default=str(DEFAULT_SEED), help="随机种子 / random seed")
        parser.add_argument("--out", help="输出文件 / output file: .csv, .xlsx or .parquet")
        parser.add_argument(
            "--into-db",
            action="store_true",
            help="通过导入器写入数据库，并建立高校、研究机构与银行 / load through the importer "
            "and create the universities, institutes and banks",
        )
        parser.add_argument("--quiet", action="store_true", help="不显示进度条 / no progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._run(options)
        except WotuError as exc:
            raise CommandError(f"{exc.zh} / {exc.en}") from exc
        except TableFileError as exc:
            raise CommandError(f"{exc.zh} / {exc.en}") from exc
        except OSError as exc:
            raise CommandError(f"无法写入文件：{exc} / cannot write the file: {exc}") from exc
        except DatabaseError as exc:
            raise CommandError(
                f"数据库不可用（是否已运行 wotu migrate？）：{exc} / "
                f"the database is not usable (did you run wotu migrate?): {exc}"
            ) from exc

    def _run(self, options: dict[str, Any]) -> None:
        enterprises = count_parse(options["enterprises"])
        first, last = years_parse(options["years"])
        seed = seed_parse(options["seed"])
        out = Path(options["out"]) if options["out"] else None
        if out is not None:
            table_format(out)  # refuses an unknown extension before any work
        if out is None and not options["into_db"]:
            raise WotuError(
                "请指定 --out FILE 或 --into-db（或两者）",
                "give --out FILE or --into-db (or both)",
            )
        # tqdm writes "\r" updates, so it needs the raw stream, not the line-ending wrapper.
        stream = None if options["quiet"] else cast(TextIO, self.stderr._out)
        bars = ProgressBars(stream)
        rows = city_generate(
            enterprises=enterprises, first_year=first, last_year=last, seed=seed, progress=bars
        )
        bars.close()
        if out is not None:
            city_write(rows=rows, path=out)
            self.stdout.write(
                f"已生成 {enterprises} 家企业 {first}–{last} 年共 {len(rows)} 行 → {out}\n"
                f"generated {len(rows)} rows for {enterprises} enterprises, {first}–{last} → {out}"
            )
        if options["into_db"]:
            self._load(rows, out, bars)

    def _load(self, rows: list[tuple[Any, ...]], out: Path | None, bars: ProgressBars) -> None:
        with tempfile.TemporaryDirectory(prefix="wotu-synth-") as scratch:
            path = out
            if path is None:
                path = Path(scratch) / "synthetic-city.parquet"
                city_write(rows=rows, path=path)
            result = city_import(path=path, progress=bars)
            bars.close()
        partners = partners_ensure()
        self.stdout.write(
            f"已导入 {result.rows} 行：新增 {result.created}，更新 {result.updated}，"
            f"未变 {result.unchanged}；新建企业 {result.organisations_created}，"
            f"新建高校、研究机构与银行 {partners}\n"
            f"imported {result.rows} rows: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged; {result.organisations_created} new enterprises, "
            f"{partners} new universities, institutes and banks"
        )
