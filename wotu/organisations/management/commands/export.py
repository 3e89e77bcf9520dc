"""`wotu export facts --year Y --out FILE`: write the facts of a year in the contract's columns."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wotu.organisations.facts import EXPORT_COLUMNS
from wotu.organisations.facts_io import TableFileError, table_format, table_write
from wotu.organisations.selectors import facts_export_rows


class Command(BaseCommand):
    help = "导出数据文件 / export a data file: `wotu export facts --year Y --out FILE`"

    def add_arguments(self, parser: ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="{facts}")
        facts = kinds.add_parser("facts", help="企业年度数据 / enterprise-year facts")
        facts.add_argument("--year", type=int, required=True)
        facts.add_argument("--out", type=Path, required=True, help="CSV, XLSX or Parquet")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        try:
            table_format(out)
        except TableFileError as exc:
            raise CommandError(f"{exc.zh} / {exc.en}") from exc
        rows = facts_export_rows(user=None, year=options["year"])
        count = table_write(out, columns=EXPORT_COLUMNS, rows=rows)
        self.stdout.write(
            f"已导出 {options['year']} 年度 {count} 行到 {out} / "
            f"exported {count} rows of {options['year']} to {out}"
        )
