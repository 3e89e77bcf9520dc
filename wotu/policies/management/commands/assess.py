"""`wotu assess --policy ID --year Y [--facts FILE] --out FILE` (design.md)."""

from __future__ import annotations

from wotu.policies.cli import EvaluationCommand


class Command(EvaluationCommand):
    help = (
        "评估：每家企业一行 uscc, year、政策的各输出列和 basis"
        " / assess every enterprise for a year: uscc, year, the policy's output columns, then"
        " basis. Without --facts: the registry."
    )
    kind = "assess"
