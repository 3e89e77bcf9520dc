"""`wotu audit verify|checkpoint`: check the audit chain and the ledger; write a signed checkpoint.

`verify` exits 0 when everything is intact and 1 naming the first broken link. It checks the
checkpoint files in ``--checkpoints`` (default ``var/checkpoints``) when ``WOTU_AUDIT_KEY`` is
set, and says so when it is not. `checkpoint` needs the key and prints the file it wrote.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from wotu.core.audit import audit_checkpoint, audit_inspect, checkpoints_dir_default
from wotu.core.errors import WotuError


class Command(BaseCommand):
    help = (
        "审计链 / audit chain: verify [--checkpoints DIR] 核对链、账簿与检查点 / check the chain,"
        " the ledger and the checkpoints | checkpoint [--out DIR] 写签名检查点 / write a signed"
        " checkpoint"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{verify,checkpoint}")
        verify = actions.add_parser(
            "verify",
            help="核对审计链与账簿，找出第一个断点 / check the chain and the ledger, name the"
            " first broken link",
            description="完整时退出码 0，否则 1 / exit 0 when intact, 1 otherwise",
        )
        verify.add_argument(
            "--checkpoints",
            type=Path,
            metavar="DIR",
            help="检查点目录（默认 var/checkpoints；需 WOTU_AUDIT_KEY）/ checkpoint folder"
            " (default var/checkpoints; needs WOTU_AUDIT_KEY)",
        )
        checkpoint = actions.add_parser(
            "checkpoint",
            help="写一个签名检查点并打印文件路径 / write a signed checkpoint, print its path",
            description="签名密钥取自环境变量 WOTU_AUDIT_KEY / the key comes from the environment"
            " variable WOTU_AUDIT_KEY",
        )
        checkpoint.add_argument(
            "--out",
            type=Path,
            metavar="DIR",
            help="输出目录（默认 var/checkpoints）/ output folder (default var/checkpoints)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "verify":
                self._verify(options["checkpoints"] or checkpoints_dir_default())
            else:
                self.stdout.write(str(audit_checkpoint(out_dir=options["out"])))
        except WotuError as exc:
            raise CommandError(f"{exc.zh} / {exc.en}") from exc

    def _verify(self, directory: Path) -> None:
        report = audit_inspect(checkpoints_dir=directory)
        if report.broken is not None:
            raise CommandError(
                f"第一个断点：{report.broken.reason_zh} /"
                f" first broken link: {report.broken.reason_en}",
                returncode=1,
            )
        self.stdout.write(
            f"链与账簿完整 / chain and ledger intact: {report.events} events,"
            f" {report.entries} entries"
        )
        if report.checkpoints is None:
            self.stdout.write(f"{report.checkpoints_note_zh} / {report.checkpoints_note_en}")
        else:
            self.stdout.write(
                f"已核对 {report.checkpoints} 个检查点（{directory}）/"
                f" {report.checkpoints} checkpoints checked ({directory})"
            )
