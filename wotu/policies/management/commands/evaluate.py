"""`wotu evaluate --policy ID --year Y [--facts FILE] [--loans FILE] --out FILE` (design.md)."""

from __future__ import annotations

from wotu.policies.cli import EvaluationCommand


class Command(EvaluationCommand):
    help = (
        "计算奖励：每项正数奖励一行 uscc, year, scheme, amount_cny（及 basis, name, district_code）"
        " / awards of a policy for a year, one row per positive award: uscc, year, scheme,"
        " amount_cny (then basis, name, district_code). Without --facts: the registry."
    )
    kind = "evaluate"
