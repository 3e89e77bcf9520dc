"""The usual admission conditions for Hong Kong and Macao experts (the bureau may edit them)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

CONDITIONS = [
    ("identity", "持有效身份证明", "Holds a valid identity document"),
    ("senior_title", "具有高级职称或同等专业水平", "Holds a senior title or an equivalent"),
    (
        "confidentiality",
        "已签署保密与回避承诺书",
        "Has signed the confidentiality and conflict-of-interest undertaking",
    ),
    (
        "mainland_rules",
        "熟悉内地科研项目管理规定",
        "Is familiar with the mainland's rules on managing research projects",
    ),
    ("integrity", "无不良科研诚信记录", "Has no record of research misconduct"),
]


def seed(apps: Any, schema_editor: Any) -> None:
    condition = apps.get_model("reviews", "AdmissionCondition")
    for order, (code, label, label_en) in enumerate(CONDITIONS, start=1):
        condition.objects.update_or_create(
            code=code, defaults={"label": label, "label_en": label_en, "order": order}
        )


def unseed(apps: Any, schema_editor: Any) -> None:
    condition = apps.get_model("reviews", "AdmissionCondition")
    condition.objects.filter(code__in=[code for code, _, _ in CONDITIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_experts_assignments_notices")]

    operations = [migrations.RunPython(seed, unseed)]
