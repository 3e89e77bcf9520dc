"""`wotu import facts FILE`: load a facts file (CSV, XLSX, Parquet) — all rows or none."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from wotu.organisations.services import facts_import


class Command(BaseCommand):
    help = "导入数据文件 / import a data file: `wotu import facts FILE`"

    def add_arguments(self, parser: ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="{facts}")
        facts = kinds.add_parser("facts", help="企业年度数据 / enterprise-year facts")
        facts.add_argument("file", type=Path, help="CSV, XLSX or Parquet")
        facts.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"找不到文件 {path} / file not found: {path}")
        bar: tqdm[Any] | None = None

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal bar
            if options["quiet"] or stage != "write":
                return
            if bar is None:
                bar = tqdm(total=total, desc="写入 / writing", unit="row", file=self.stderr._out)
            bar.update(done - bar.n)

        result = facts_import(path=path, progress=progress)
        if bar is not None:
            bar.close()
        for zh, en in result.warnings:
            self.stderr.write(f"注意：{zh} / note: {en}")
        if result.file_error:
            zh, en = result.file_error
            raise CommandError(f"{zh}\n{en}\n未导入任何数据 / nothing was imported")
        if result.errors:
            for error in result.errors:
                self.stderr.write(error.text_zh())
                self.stderr.write(error.text_en())
            raise CommandError(
                f"{len(result.errors)} 处错误，未导入任何数据 / "
                f"{len(result.errors)} problems, nothing was imported"
            )
        self.stdout.write(
            f"已导入 {result.rows} 行：新增 {result.created}，更新 {result.updated}，"
            f"未变 {result.unchanged}；新建企业 {result.organisations_created}\n"
            f"imported {result.rows} rows: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged; {result.organisations_created} new enterprises"
        )
