"""Synthetic calls for the demo and the benchmarks: who applies, for what, and what the experts
think of it — drawn from the synthetic city, reproducible from a seed.

Two cases from the seed:

- **Quanzhou** (seed §5): 245 applications in the 5 talent-project fields, reviewed in five
  stages; 61 funded within CNY 14.1 M (so requests average about CNY 230 k).
- **Guangzhou** (seed §1, policy-facts §7): joint research open to Hong Kong and Macao, CNY 60 M
  a year; HK/Macao universities and institutes may lead or apply alone; mainland leads may
  bring HK/Macao partners; HK/Macao experts sit on the panels.

Everything here is plain data (no database): :mod:`wotu.programmes.demo` turns it into
programmes, calls, applications, experts and scores through the services.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

QUANZHOU_FIELDS = ("machinery", "electronics", "energy", "biomedicine", "ecology")
QUANZHOU_APPLICATIONS = 245
QUANZHOU_BUDGET = Decimal("14100000.00")
QUANZHOU_FUNDED = 61
GUANGZHOU_BUDGET = Decimal("60000000.00")

TOPICS = {
    "machinery": ("工业机器人关节减速器", "数控机床在线检测", "智能纺织装备", "鞋服柔性生产线",
                  "石材智能加工装备"),
    "electronics": ("车规级功率芯片封装", "工业互联网边缘网关", "光电传感模组", "北斗高精度定位",
                    "半导体检测设备"),
    "energy": ("钠离子电池正极材料", "分布式光伏储能", "氢燃料电池双极板", "余热回收系统",
               "海上风电运维"),
    "biomedicine": ("海洋生物活性多肽", "中药配方颗粒质量标准", "体外诊断试剂", "医用可降解材料",
                    "单克隆抗体工艺"),
    "ecology": ("工业废水零排放", "近岸海域生态修复", "固废资源化利用", "VOCs 治理催化剂",
                "土壤重金属修复"),
}  # fmt: skip
TOPICS_EN = {
    "machinery": ("robot joint reducers", "in-line CNC inspection", "smart textile machinery",
                  "flexible footwear lines", "smart stone processing"),
    "electronics": ("automotive power-chip packaging", "industrial IoT edge gateways",
                    "photoelectric sensor modules", "BeiDou precise positioning",
                    "semiconductor inspection"),
    "energy": ("sodium-ion cathodes", "distributed PV storage", "fuel-cell bipolar plates",
               "waste-heat recovery", "offshore wind maintenance"),
    "biomedicine": ("marine bioactive peptides", "TCM granule standards", "IVD reagents",
                    "biodegradable implants", "monoclonal antibody processes"),
    "ecology": ("zero-discharge wastewater", "coastal ecological restoration",
                "solid-waste recycling", "VOC catalysts", "soil heavy-metal remediation"),
}  # fmt: skip
GUANGZHOU_FIELDS = ("ht_electronics", "ht_bio", "ht_materials", "ht_energy", "ht_manufacturing")
STAGES_OF = ("研发及产业化", "关键技术攻关", "应用示范")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰晓文斌宇浩凯鹏飞海燕雪梅"
TITLES = (("教授", "Professor"), ("研究员", "Research professor"),
          ("正高级工程师", "Senior engineer"), ("副教授", "Associate professor"),
          ("高级工程师", "Engineer (senior)"))  # fmt: skip
HKMO_NAMES = ("Chan Tai-man", "Wong Ka-yan", "Lee Siu-ming", "Cheung Wai-kit", "Lau Mei-ling",
              "Ho Chi-wai", "Leung Hoi-yan", "Ng Kwok-keung", "Fong Io-kuan", "Leong Sio-man",
              "Chao Weng-hong", "Lam Pui-san")  # fmt: skip


@dataclass(frozen=True)
class ApplicationSpec:
    key: str  # stable within a seed: "QZ-0001"
    applicant: int  # index into the applicant list given to the generator
    partners: tuple[int, ...]  # indexes into the partner list (Guangzhou only)
    field: str
    title: str
    title_en: str
    requested: Decimal
    budget: dict[str, str]
    summary: str
    start: dt.date
    quality: float  # latent merit on the 0–100 scale; experts' marks scatter around it


@dataclass(frozen=True)
class ExpertSpec:
    code: str
    name: str
    organisation: int  # index into the organisation list given to the generator
    region: str
    title: str
    fields: tuple[str, ...]
    bias: float  # a lenient (+) or strict (−) marker, what z-score normalisation removes


@dataclass
class Marks:
    """How one expert marks one application on each rubric criterion."""

    values: dict[str, int] = field(default_factory=dict)


def _money(value: float) -> Decimal:
    return Decimal(round(value / 10_000) * 10_000).quantize(Decimal("0.01"))


def _budget(requested: Decimal, rng: np.random.Generator) -> dict[str, str]:
    """Equipment, staff and other lines that add up to the request to the fen."""
    shares = rng.dirichlet([4.0, 3.0, 1.5])
    equipment = _money(float(requested) * shares[0])
    staff = _money(float(requested) * shares[1])
    other = requested - equipment - staff
    if other < 0:
        equipment, other = equipment + other, Decimal("0.00")
    return {"equipment": f"{equipment:.2f}", "staff": f"{staff:.2f}", "other": f"{other:.2f}"}


def quanzhou_applications(
    *, applicants: int, seed: int, count: int = QUANZHOU_APPLICATIONS
) -> list[ApplicationSpec]:
    """``count`` (245) applications over ``applicants`` distinct firms (each applies at most once).

    Requests are CNY 100–500 k in steps of 10 k with a mean near 230 k, so that about 61 fit
    in the CNY 14.1 M budget as in the seed."""
    if applicants < count:
        raise ValueError(f"need {count} applicants, got {applicants}")
    rng = np.random.default_rng(seed)
    who = rng.choice(applicants, size=count, replace=False)
    specs = []
    for n, index in enumerate(who.tolist(), start=1):
        code = QUANZHOU_FIELDS[int(rng.integers(0, len(QUANZHOU_FIELDS)))]
        topic = int(rng.integers(0, 5))
        stage = int(rng.integers(0, len(STAGES_OF)))
        requested = _money(float(np.clip(rng.normal(231_000, 80_000), 100_000, 500_000)))
        specs.append(
            ApplicationSpec(
                key=f"QZ-{n:04d}", applicant=index, partners=(), field=code,
                title=f"{TOPICS[code][topic]}{STAGES_OF[stage]}",
                title_en=TOPICS_EN[code][topic].capitalize(),
                requested=requested, budget=_budget(requested, rng),
                summary=f"围绕{TOPICS[code][topic]}开展{STAGES_OF[stage]}，形成自主知识产权并实现转化。",
                start=dt.date(2026, 7, 1), quality=float(np.clip(rng.normal(70, 9), 35, 98)),
            )
        )  # fmt: skip
    return specs


def guangzhou_applications(
    *, mainland: int, hkmo: int, seed: int, count: int = 40
) -> list[ApplicationSpec]:
    """Joint-research applications: a third led by HK/Macao universities or institutes (some
    alone, some with a mainland partner), the rest led by mainland organisations with one
    HK/Macao partner. ``applicant`` indexes mainland leads first, then HK/MO ones (offset by
    ``mainland``); ``partners`` index the same combined list."""
    rng = np.random.default_rng(seed + 1)
    specs = []
    for n in range(1, count + 1):
        hk_lead = n % 3 == 0
        if hk_lead:
            lead = mainland + int(rng.integers(0, hkmo))
            partners: tuple[int, ...] = () if n % 2 else (int(rng.integers(0, mainland)),)
        else:
            lead = int(rng.integers(0, mainland))
            partners = (mainland + int(rng.integers(0, hkmo)),)
        code = GUANGZHOU_FIELDS[int(rng.integers(0, len(GUANGZHOU_FIELDS)))]
        requested = _money(float(np.clip(rng.normal(1_800_000, 500_000), 500_000, 3_000_000)))
        specs.append(
            ApplicationSpec(
                key=f"GZ-{n:04d}", applicant=lead, partners=partners, field=code,
                title=f"穗港澳联合基础研究：课题 {n}", title_en=f"Joint basic research, topic {n}",
                requested=requested, budget=_budget(requested, rng),
                summary="粤港澳联合开展基础与应用基础研究，港澳单位可牵头或独立申报。",
                start=dt.date(2026, 9, 1), quality=float(np.clip(rng.normal(72, 8), 40, 98)),
            )
        )  # fmt: skip
    return specs


def expert_pool(
    *, organisations: list[str], seed: int, size: int = 150, fields: tuple[str, ...]
) -> list[ExpertSpec]:
    """``size`` experts; ``organisations`` holds each candidate organisation's region (CN/HK/MO),
    and an expert's ``organisation`` indexes it. HK/MO organisations supply about one expert in
    eight. Every expert covers one to three ``fields``."""
    rng = np.random.default_rng(seed + 2)
    mainland = [i for i, region in enumerate(organisations) if region == "CN"]
    hkmo = [i for i, region in enumerate(organisations) if region != "CN"]
    experts = []
    for n in range(1, size + 1):
        from_hkmo = bool(hkmo) and n % 8 == 0
        org = int(rng.choice(hkmo if from_hkmo else mainland))
        region = organisations[org]
        if from_hkmo:
            name = HKMO_NAMES[(n // 8) % len(HKMO_NAMES)]
        else:
            name = SURNAMES[int(rng.integers(0, len(SURNAMES)))] + "".join(
                GIVEN[int(k)] for k in rng.integers(0, len(GIVEN), int(rng.integers(1, 3)))
            )
        count = int(rng.integers(1, 4))
        picked = rng.choice(len(fields), size=min(count, len(fields)), replace=False)
        experts.append(
            ExpertSpec(
                code=f"E{n:04d}", name=name, organisation=org, region=region,
                title=TITLES[int(rng.integers(0, len(TITLES)))][0],
                fields=tuple(fields[int(k)] for k in sorted(picked.tolist())),
                bias=float(rng.normal(0, 5)),
            )
        )  # fmt: skip
    return experts


def marks_draw(
    *, application: ApplicationSpec, expert: ExpertSpec, criteria: list[str], seed: int
) -> dict[str, int]:
    """An expert's marks (0–100 per criterion) for one application: merit + the expert's
    leniency + noise, reproducible for the pair."""
    digest = zlib.crc32(f"{application.key}|{expert.code}".encode())
    rng = np.random.default_rng(seed * 1_000_003 + digest)
    return {
        code: int(np.clip(round(application.quality + expert.bias + rng.normal(0, 6)), 0, 100))
        for code in criteria
    }
