"""One taxonomy of review fields: the five fields of Quanzhou's talent projects (seed §5) and the
eight fields of state-supported high technology (国家重点支持的高新技术领域, 国科发火〔2016〕32号
附件). Applications carry one field; experts one or more."""

from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    code: str
    zh: str
    en: str
    group: str  # "quanzhou" or "hitech"


FIELDS: tuple[Field, ...] = (
    Field("machinery", "机械装备与智能制造", "Machinery and intelligent manufacturing", "quanzhou"),
    Field("electronics", "电子信息", "Electronic information", "quanzhou"),
    Field("energy", "新能源与节能", "New energy and energy saving", "quanzhou"),
    Field("biomedicine", "生物医药", "Biomedicine", "quanzhou"),
    Field("ecology", "生态环境", "Ecology and environment", "quanzhou"),
    Field("ht_electronics", "电子信息（高新领域）", "Electronic information (high-tech)", "hitech"),
    Field("ht_bio", "生物与新医药", "Biology and new medicine", "hitech"),
    Field("ht_aerospace", "航空航天", "Aerospace", "hitech"),
    Field("ht_materials", "新材料", "New materials", "hitech"),
    Field("ht_services", "高技术服务", "High-tech services", "hitech"),
    Field(
        "ht_energy",
        "新能源与节能（高新领域）",
        "New energy and energy saving (high-tech)",
        "hitech",
    ),
    Field("ht_environment", "资源与环境", "Resources and environment", "hitech"),
    Field(
        "ht_manufacturing", "先进制造与自动化", "Advanced manufacturing and automation", "hitech"
    ),
)

BY_CODE = {field.code: field for field in FIELDS}


def field_label(code: str, *, language: str = "zh-hans") -> str:
    field = BY_CODE.get(code)
    if field is None:
        return code
    return field.en if language.startswith("en") else field.zh
