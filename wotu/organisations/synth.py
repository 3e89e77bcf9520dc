"""The synthetic city: believable enterprise-year facts for a Qingdao-like city, plus its
universities and research institutes (mainland, Hong Kong, Macao) and partner banks.

Contracts
- Deterministic: the same ``(enterprises, years, seed)`` gives the same rows in the same order,
  so a file written with :func:`city_write` is byte-identical (facts_io pins XLSX timestamps).
- Every row passes the importer (:func:`wotu.organisations.facts.facts_validate`). Money is in
  CNY with two decimals; a firm's rows run from max(first year, registration year) to the last.
- Qualifications obey the rules of policy-facts §1–2 as hard bounds, checked on the generated
  figures: a tech-SME number only in a year the firm meets the basic conditions (≤ 500 staff,
  revenue and assets ≤ CNY 200 M, no incident this or last year) and scores ≥ 60 with S&T staff
  points > 0 (or holds a valid high-tech certificate) on this and last year's figures; a
  high-tech certificate (new or renewed every 3 years) only when the firm was registered a year
  before, owns IP, has S&T staff ≥ 10 %, high-tech revenue ≥ 60 %, domestic R&D ≥ 60 % and the
  R&D intensity of the revenue band in *each* of the four years ending with the issue year (so
  any 3-year window a reader takes passes), no incident this or last year, and at least one
  conversion in three years (the facts hold no expert-judged innovation score; this stands in
  for it). Many firms aiming at certification keep R&D just above the band, as real ones do.
- Randomness comes only from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wotu.core.districts import DISTRICTS
from wotu.core.errors import WotuError
from wotu.organisations.facts import EXPORT_COLUMNS
from wotu.organisations.facts_io import table_write
from wotu.organisations.models import Kind, Organisation, Region
from wotu.organisations.services import ImportResult, facts_import
from wotu.organisations.uscc import ALPHABET, uscc_build

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Progress = Callable[[str, int, int], None]

DEFAULT_SEED = 2021  # the year of the seed newspaper page
EARLIEST_YEAR = 2000
MAX_ENTERPRISES = 200_000
HISTORY = 3  # years simulated before the first output year: certificates issued then still count
TECH_SME_SINCE = 2017  # 国科发政〔2017〕115号
HITECH_SINCE = 2008  # 国科发火〔2008〕172号, the first version of the current scheme
LATEST_REGISTRATION = dt.date(2022, 12, 31)
TECH, ORDINARY, NO_RD = 0, 1, 2  # firm types: technology firm, some R&D, no R&D
YEAR_SHOCK = {2020: -0.07, 2021: 0.05, 2022: -0.02}  # common log-growth shocks (COVID years)
MILLION_FEN = 100_000_000


@dataclass(frozen=True)
class Industry:
    word: str
    sector: str
    manufacturing: bool
    tech: float  # share of firms in this industry that are technology firms
    weight: float  # relative frequency within the sector


INDUSTRIES: tuple[Industry, ...] = (
    Industry("智能装备", "industrial", True, 0.55, 6),
    Industry("精密机械", "industrial", True, 0.35, 5),
    Industry("新材料", "industrial", True, 0.55, 5),
    Industry("电子科技", "industrial", True, 0.6, 5),
    Industry("生物医药", "industrial", True, 0.6, 3),
    Industry("医疗器械", "industrial", True, 0.55, 3),
    Industry("海洋装备", "industrial", True, 0.5, 3),
    Industry("橡胶制品", "industrial", True, 0.2, 3),
    Industry("化工", "industrial", True, 0.2, 4),
    Industry("汽车零部件", "industrial", True, 0.3, 4),
    Industry("家用电器", "industrial", True, 0.35, 3),
    Industry("轨道交通装备", "industrial", True, 0.5, 2),
    Industry("食品", "industrial", True, 0.1, 5),
    Industry("纺织服装", "industrial", True, 0.08, 3),
    Industry("仪器仪表", "industrial", True, 0.5, 2),
    Industry("新能源科技", "industrial", True, 0.45, 3),
    Industry("金属制品", "industrial", True, 0.12, 4),
    Industry("热电", "industrial", False, 0.15, 1),
    Industry("矿业", "industrial", False, 0.05, 0.5),
    Industry("软件", "service", False, 0.7, 7),
    Industry("信息技术", "service", False, 0.6, 7),
    Industry("网络科技", "service", False, 0.45, 5),
    Industry("数据科技", "service", False, 0.5, 3),
    Industry("人工智能科技", "service", False, 0.65, 2),
    Industry("检测技术", "service", False, 0.45, 3),
    Industry("环境工程", "service", False, 0.35, 3),
    Industry("生物技术", "service", False, 0.55, 2),
    Industry("海洋科技", "service", False, 0.5, 2),
    Industry("工业设计", "service", False, 0.4, 2),
    Industry("供应链管理", "service", False, 0.1, 4),
    Industry("电子商务", "service", False, 0.15, 4),
    Industry("技术服务", "service", False, 0.35, 4),
    Industry("文化传媒", "service", False, 0.08, 3),
    Industry("物流", "service", False, 0.06, 4),
    Industry("管理咨询", "service", False, 0.1, 3),
    Industry("建设工程", "other", False, 0.08, 4),
    Industry("农业科技", "other", False, 0.3, 3),
    Industry("水产", "other", False, 0.1, 2),
    Industry("建筑科技", "other", False, 0.15, 2),
    Industry("园林绿化", "other", False, 0.04, 1),
)
SECTOR_SHARE = {"industrial": 0.42, "service": 0.48, "other": 0.10}
# 规模以上 thresholds on annual revenue, in fen (industrial ≥ 20 M, services ≥ 10 M).
ABOVE_SIZE_FEN = {
    "industrial": 20 * MILLION_FEN,
    "service": 10 * MILLION_FEN,
    "other": 20 * MILLION_FEN,
}
DISTRICT_SHARE = {
    "370202": 0.08, "370203": 0.09, "370211": 0.22, "370212": 0.14, "370213": 0.06,
    "370214": 0.15, "370215": 0.10, "370281": 0.07, "370283": 0.05, "370285": 0.04,
}  # fmt: skip
assert set(DISTRICT_SHARE) <= set(DISTRICTS), "district shares name unknown districts"
BRAND_CHARS = (
    "海纳瑞华科信德鑫源泰恒达博创智联通宏晟睿星蓝澜琴崂胶澳青峰新康裕佳诺明远航帆汇宇正天元润和安"
    "盛凯丰东方港湾岛浪鲸贝宁嘉弘昊昌隆奥美捷锐迅"
)


# ---- arguments ---------------------------------------------------------------------------------


def years_parse(text: str, *, today: dt.date | None = None) -> tuple[int, int]:
    """Parse "2019-2023" (inclusive) or "2023" into (first, last); raise WotuError if bad."""
    latest = (today or dt.date.today()).year
    parts = text.strip().split("-")
    if not 1 <= len(parts) <= 2 or not all(p.strip().isdigit() for p in parts):
        raise WotuError(
            f"年度范围 {text!r} 格式不对：应写作 2019-2023 或 2023",
            f"the year range {text!r} is malformed: write it as 2019-2023 or 2023",
        )
    first, last = int(parts[0]), int(parts[-1])
    if first > last:
        raise WotuError(
            f"年度范围 {text} 起止颠倒：应写作 {last}-{first}",
            f"the year range {text} runs backwards: write {last}-{first}",
        )
    if first < EARLIEST_YEAR or last > latest:
        raise WotuError(
            f"年度应在 {EARLIEST_YEAR}–{latest} 之间，实际为 {text}",
            f"years must lie within {EARLIEST_YEAR}–{latest}, got {text}",
        )
    return first, last


def count_parse(text: str, *, limit: int = MAX_ENTERPRISES) -> int:
    """Parse the number of enterprises (1 … limit); raise WotuError if bad."""
    value = text.strip()
    if not value.lstrip("-").isdigit():
        raise WotuError(
            f"企业数量应为整数，实际为 {text!r}",
            f"the number of enterprises must be a whole number, got {text!r}",
        )
    number = int(value)
    if not 1 <= number <= limit:
        raise WotuError(
            f"企业数量应在 1–{limit} 之间，实际为 {number}",
            f"the number of enterprises must be 1–{limit}, got {number}",
        )
    return number


def seed_parse(text: str) -> int:
    """Parse a random seed: a whole number ≥ 0; raise WotuError if bad."""
    if not text.strip().isdigit():
        raise WotuError(
            f"随机种子应为非负整数，实际为 {text!r}",
            f"the seed must be a whole number ≥ 0, got {text!r}",
        )
    return int(text.strip())


# ---- generation --------------------------------------------------------------------------------


def city_generate(
    *,
    enterprises: int,
    first_year: int,
    last_year: int,
    seed: int,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> list[tuple[Any, ...]]:
    """Generate the facts rows (in ``facts.EXPORT_COLUMNS`` order) of a synthetic city.

    Rows are grouped by firm, years ascending. ``progress(stage, done, total)`` is called with
    the stages "simulate" and "rows". Pure: touches no database.

    The city: sectors industrial 42 % / service 48 % / other 10 %; revenue lognormal (median
    ≈ CNY 3 M, tail to billions) growing with firm drift and AR(1) shocks; about 60 % of firms
    spend ≤ 3 % of revenue on R&D; roughly 12 % → 18 % of firms hold a high-tech certificate and
    16 % → 23 % a tech-SME number from the first to the last year (2019–2023); a listing pool of
    min(100, ⌈N / 20⌉) certified, unlisted firms in the last two years; max(1, round(N × 0.2 %))
    listed firms, 60 % of them before the first year; incidents in ≈ 0.3 % of firm-years.
    """
    if enterprises < 1 or first_year > last_year or first_year < EARLIEST_YEAR:
        raise ValueError("need enterprises ≥ 1 and EARLIEST_YEAR ≤ first_year ≤ last_year")
    city = _City(
        rng=np.random.default_rng(seed),
        n=enterprises,
        first_year=first_year,
        last_year=last_year,
        today=today or dt.date.today(),
    )
    city.simulate(progress)
    return city.rows(progress)


def city_write(*, rows: Sequence[Sequence[Any]], path: Path) -> int:
    """Write generated rows with exactly the contract's columns; the extension picks the format."""
    return table_write(path, columns=EXPORT_COLUMNS, rows=rows)


def city_import(*, path: Path, progress: Progress | None = None) -> ImportResult:
    """Load a generated facts file through the importer. Raises WotuError if it refuses any row
    (that would be a generator bug: every generated row is meant to pass)."""
    result = facts_import(path=path, progress=progress)
    if result.file_error:
        raise WotuError(*result.file_error)
    if result.errors:
        shown = result.errors[:5]
        raise WotuError(
            "导入器拒绝了生成的数据：" + "；".join(e.text_zh() for e in shown),
            "the importer refused generated rows: " + "; ".join(e.text_en() for e in shown),
        )
    return result


def _bands(numerator: Ints, denominator: Ints, table: Sequence[tuple[int, int]]) -> Ints:
    """Points for numerator/denominator ≥ pct/100, by the first (pct, points) row met."""
    points = np.zeros(numerator.shape, dtype=np.int64)
    for pct, score in table:
        points = np.where((points == 0) & (numerator * 100 >= pct * denominator), score, points)
    return points


def _rd_band_pct(revenue_fen: Ints) -> Ints:
    """High-tech R&D intensity threshold in % by revenue (≤ 50 M: 5, ≤ 200 M: 4, else 3)."""
    pct: Ints = np.where(
        revenue_fen <= 50 * MILLION_FEN, 5, np.where(revenue_fen <= 200 * MILLION_FEN, 4, 3)
    )
    return pct


class _City:
    """Arrays of firms × simulated years (``HISTORY`` years before the first output year)."""

    def __init__(
        self, *, rng: np.random.Generator, n: int, first_year: int, last_year: int, today: dt.date
    ) -> None:
        self.rng, self.n, self.today = rng, n, today
        self.first_year, self.last_year = first_year, last_year
        self.years: Ints = np.arange(first_year - HISTORY, last_year + 1, dtype=np.int64)
        self.s = len(self.years)

    # -- who the firms are --

    def _identity(self) -> None:
        rng, n = self.rng, self.n
        weights = np.array([SECTOR_SHARE[i.sector] * i.weight for i in INDUSTRIES])
        sector_total = {s: sum(i.weight for i in INDUSTRIES if i.sector == s) for s in SECTOR_SHARE}
        weights /= np.array([sector_total[i.sector] for i in INDUSTRIES])
        self.industry: Ints = rng.choice(len(INDUSTRIES), size=n, p=weights / weights.sum())
        self.sector = np.array([i.sector for i in INDUSTRIES])[self.industry]
        self.industrial: Bools = self.sector == "industrial"
        self.manufacturing: Bools = np.array([i.manufacturing for i in INDUSTRIES])[self.industry]
        tech = np.array([i.tech for i in INDUSTRIES])[self.industry]
        no_rd = np.where(self.sector == "other", 0.45, 0.2)
        draw = rng.random(n)
        self.kind: Ints = np.where(
            draw < tech, TECH, np.where(draw < tech + (1 - tech) * (1 - no_rd), ORDINARY, NO_RD)
        ).astype(np.int64)
        codes = list(DISTRICT_SHARE)
        self.district: list[str] = [
            codes[k] for k in rng.choice(len(codes), size=n, p=list(DISTRICT_SHARE.values()))
        ]
        self._registration()
        self.uscc = self._usccs()
        self.stem = self._stems()
        self.joint_stock: Bools = rng.random(n) < 0.12  # 股份有限公司 from the start

    def _registration(self) -> None:
        """Registration dates over ~1995–2022, denser in recent years (firms that survive)."""
        lo = dt.date(min(1995, self.last_year - 20), 1, 1).toordinal()
        hi = min(LATEST_REGISTRATION, dt.date(self.last_year, 12, 31), self.today).toordinal()
        spread = self.rng.random(self.n) ** (1 / 1.6)
        self.registered: Ints = np.minimum(lo + (spread * (hi - lo + 1)).astype(np.int64), hi)
        jan1 = np.array([dt.date(y, 1, 1).toordinal() for y in range(1900, 2101)])
        self.reg_year: Ints = 1900 + np.searchsorted(jan1, self.registered, side="right") - 1
        age = self.years[None, :] - self.reg_year[:, None]
        self.age: Ints = age
        self.alive: Bools = age >= 0
        year_days = np.array([366 if calendar.isleap(y) else 365 for y in range(1900, 2101)])
        days_left = jan1[self.reg_year - 1900 + 1] - self.registered
        self.first_fraction: Floats = np.maximum(days_left / year_days[self.reg_year - 1900], 0.05)

    def _usccs(self) -> list[str]:
        """GB 32100 codes: authority 9, type 1, the district, and an organisation code — old
        8-digit ones for firms registered before the reform (2015-10), "MA…" ones after."""
        reform = dt.date(2015, 10, 1).toordinal()
        codes: list[str] = []
        seen: set[str] = set()
        digits = self.rng.integers(10_000_000, 80_000_000, self.n).tolist()
        letters = self.rng.integers(0, 31, (self.n, 6)).tolist()
        for i in range(self.n):
            new = self.registered[i] >= reform
            body = "MA" + "".join(ALPHABET[k] for k in letters[i]) if new else str(digits[i])
            code = uscc_build(authority="9", org_type="1", division=self.district[i], body8=body)
            while code in seen:  # astronomically rare; redraw from the same stream
                body = "MA" + "".join(ALPHABET[k] for k in self.rng.integers(0, 31, 6))
                code = uscc_build(
                    authority="9", org_type="1", division=self.district[i], body8=body
                )
            seen.add(code)
            codes.append(code)
        return codes

    def _stems(self) -> list[str]:
        """Unique name stems 青岛 + brand + industry word; a 3-character brand when 2 run out."""
        stems: list[str] = []
        seen: set[str] = set()
        chars = len(BRAND_CHARS)
        first = self.rng.integers(0, chars, self.n)
        second = self.rng.integers(0, chars - 1, self.n)
        second = second + (second >= first)  # two different characters
        for i, (a, b) in enumerate(zip(first.tolist(), second.tolist(), strict=True)):
            word, tries = INDUSTRIES[self.industry[i]].word, 0
            stem = "青岛" + BRAND_CHARS[a] + BRAND_CHARS[b] + word
            while stem in seen:
                length = 2 if tries < 20 else 3
                picks = self.rng.choice(chars, size=length, replace=False)
                stem = "青岛" + "".join(BRAND_CHARS[k] for k in picks) + word
                tries += 1
            seen.add(stem)
            stems.append(stem)
        return stems

    # -- money, staff --

    def _finances(self) -> None:
        rng, n, s = self.rng, self.n, self.s
        level = np.empty((n, s))
        level[:, 0] = (
            math.log(1.6e6)
            + 1.6 * rng.standard_normal(n)
            + 0.35 * self.industrial
            + 0.05 * np.clip(self.years[0] - self.reg_year, 0, 20)
        )
        drift = rng.normal(0.05, 0.05, n) + 0.04 * (self.kind == TECH)
        shock = np.zeros(n)
        for j in range(1, s):
            shock = 0.55 * shock + rng.normal(0, 0.14, n)
            common = YEAR_SHOCK.get(int(self.years[j]), 0.0)
            level[:, j] = level[:, j - 1] + drift + shock + common
        level = np.minimum(level, math.log(3e10))
        ramp = 1 - np.exp(-(np.maximum(self.age, 0) + 0.6) / 1.8)
        full = np.exp(level) * ramp  # a full year's revenue, CNY
        partial = np.where(self.age == 0, self.first_fraction[:, None], 1.0)
        self.revenue: Ints = self._fen(full * partial)
        per_head = np.exp(rng.normal(0, 0.45, n)) * np.select(
            [self.industrial, self.sector == "service"], [7e5, 4.5e5], 8e5
        )
        heads = full / per_head[:, None] * np.exp(rng.normal(0, 0.05, (n, s)))
        self.employees: Ints = self._live(np.clip(np.rint(heads), 3, 200_000).astype(np.int64))
        cost_ratio = 0.80 + 0.19 * rng.beta(4, 2, n)
        cost = np.clip(cost_ratio[:, None] + rng.normal(0, 0.015, (n, s)), 0.8, 1.0)
        self.costs: Ints = self._fen(cost * self.revenue / 100)
        asset_ratio = np.exp(rng.normal(math.log(0.85), 0.45, n)) * np.where(
            self.industrial, 1.25, 1
        )
        assets = full * asset_ratio[:, None] * np.exp(rng.normal(0, 0.04, (n, s)))
        self.assets: Ints = self._fen(assets)
        equity = 0.15 + 0.7 * rng.beta(2.5, 2.5, n)
        equity_year = np.clip(equity[:, None] + rng.normal(0, 0.02, (n, s)), 0.05, 0.95)
        self.net_assets: Ints = self._fen(assets * equity_year)
        self.incident: Bools = self.alive & (
            rng.random((n, s)) < np.where(self.industrial, 0.004, 0.0015)[:, None]
        )

    def _fen(self, cny: Floats) -> Ints:
        return self._live(np.rint(cny * 100).astype(np.int64))

    def _live(self, values: Ints) -> Ints:
        result: Ints = np.where(self.alive, values, 0)
        return result

    # -- R&D, staff, IP --

    def _research(self) -> None:
        rng, n, s = self.rng, self.n, self.s
        tech, ordinary = self.kind == TECH, self.kind == ORDINARY
        upgrader = ordinary & (rng.random(n) < 0.2)  # firms turning into technology firms
        step = np.arange(s)[None, :]
        growth = np.where(upgrader, 1.16, np.where(tech, 1.03, 1.0))[:, None] ** step
        base = np.select(
            [tech, ordinary, rng.random(n) < 0.15],
            [
                np.exp(rng.normal(math.log(0.06), 0.45, n)) * np.where(self.industrial, 0.5, 1.0),
                np.exp(rng.normal(math.log(0.009), 0.6, n)) * np.where(self.industrial, 0.75, 1.0),
                np.exp(rng.normal(math.log(0.004), 0.5, n)),
            ],
            0.0,
        )
        full_cny = np.maximum(self.revenue, 1) / 100
        size = np.clip((full_cny / 5e6) ** np.where(tech, -0.12, -0.05)[:, None], 0.45, 1.6)
        noise = np.zeros((n, s))
        for j in range(s):
            prior = noise[:, j - 1] if j else 0.0
            noise[:, j] = 0.6 * prior + rng.normal(0, 0.1, n)
        intensity = np.minimum(base[:, None] * growth * size * np.exp(noise), 0.25)
        # Firms aiming at certification keep R&D just above their revenue band's threshold.
        aspirant = (tech & (rng.random(n) < 0.8))[:, None] | (
            upgrader[:, None] & (intensity >= 0.03)
        )
        margin = rng.uniform(0.001, 0.008, n)[:, None]
        floor = self._band_floor() / 100 + margin
        intensity = np.where(aspirant & self.alive, np.maximum(intensity, floor), intensity)
        self.rd: Ints = self._live(np.rint(intensity * self.revenue).astype(np.int64))
        self._rd_parts(aspirant)
        self._staff(tech, ordinary, upgrader, aspirant)
        self._hitech_revenue(tech, ordinary, upgrader, aspirant)
        self._ip()

    def _band_floor(self) -> Ints:
        """Per year k, the band threshold of the smallest revenue in years k-1 … k+3: meeting it
        every year passes any certification window that includes year k."""
        floor = np.zeros((self.n, self.s), dtype=np.int64)
        revenue = np.where(self.alive, self.revenue, np.iinfo(np.int64).max)
        for k in range(self.s):
            window = revenue[:, max(0, k - 1) : k + 4]
            floor[:, k] = _rd_band_pct(window.min(axis=1))
        return floor

    def _rd_parts(self, aspirant: Bools) -> None:
        rng, n, s = self.rng, self.n, self.s
        abroad = rng.random(n) < 0.08
        share = np.where(abroad, rng.uniform(0.4, 0.99, n), 1.0)[:, None] * np.ones((1, s))
        share = np.where(aspirant, np.maximum(share, 0.62), share)
        self.rd_domestic: Ints = np.floor(self.rd * share).astype(np.int64)
        partial = rng.random(n) < 0.35
        deductible = np.where(partial, rng.uniform(0.7, 1.0, n), 1.0)[:, None]
        deductible = np.clip(
            deductible + np.where(partial, 1, 0)[:, None] * rng.normal(0, 0.03, (n, s)), 0.5, 1.0
        )
        self.rd_deductible: Ints = np.floor(self.rd * deductible).astype(np.int64)

    def _staff(self, tech: Bools, ordinary: Bools, upgrader: Bools, aspirant: Bools) -> None:
        rng, n, s = self.rng, self.n, self.s
        ratio = np.select(
            [tech, ordinary],
            [0.18 + 0.40 * rng.beta(2, 3, n), 0.05 + 0.20 * rng.beta(2, 4, n)],
            0.03 + 0.07 * rng.beta(2, 2, n),
        )
        trend = np.where(upgrader, 1.04, 1.0)[:, None] ** np.arange(s)[None, :]
        year = np.clip(ratio[:, None] * trend * np.exp(rng.normal(0, 0.06, (n, s))), 0, 0.8)
        year = np.where(aspirant, np.maximum(year, 0.105), year)
        self.st_staff: Ints = np.minimum(np.floor(self.employees * year), self.employees).astype(
            np.int64
        )

    def _hitech_revenue(
        self, tech: Bools, ordinary: Bools, upgrader: Bools, aspirant: Bools
    ) -> None:
        rng, n, s = self.rng, self.n, self.s
        share = np.select(
            [tech, ordinary], [0.45 + 0.5 * rng.beta(2.5, 1.5, n), 0.35 * rng.beta(1.2, 3, n)], 0.0
        )
        rise = np.where(upgrader, 0.06, 0.0)[:, None] * np.arange(s)[None, :]
        year = np.clip(
            share[:, None] + rise + rng.normal(0, 0.03, (n, s)) * (share[:, None] > 0), 0, 1
        )
        year = np.where(aspirant, np.clip(year, 0.62, 1.0), year)
        self.hitech: Ints = np.floor(self.revenue * year).astype(np.int64)

    def _ip(self) -> None:
        """Valid IP stocks grow with R&D spending (Class II more common); some lapse each year."""
        rng, n, s = self.rng, self.n, self.s
        knack = np.exp(rng.normal(0, 0.5, n))
        tech_boost = np.where(self.kind == TECH, 1.6, 1.0)[:, None]
        output = (self.rd / 1e8) ** 0.6 * knack[:, None] * tech_boost  # per million CNY of R&D
        self.ip1 = np.zeros((n, s), dtype=np.int64)
        self.ip2 = np.zeros((n, s), dtype=np.int64)
        stock_years = np.clip(self.age[:, 0], 0, 8) * 0.6
        self.ip1[:, 0] = rng.poisson(0.2 * output[:, 0] * stock_years)
        self.ip2[:, 0] = rng.poisson(1.2 * output[:, 0] * stock_years)
        for j in range(1, s):
            self.ip1[:, j] = rng.binomial(self.ip1[:, j - 1], 0.96) + rng.poisson(
                0.2 * output[:, j]
            )
            self.ip2[:, j] = rng.binomial(self.ip2[:, j - 1], 0.9) + rng.poisson(1.2 * output[:, j])
        self.ip1, self.ip2 = self._live(self.ip1), self._live(self.ip2)
        rate = 1.2 * (self.rd / 1e8) ** 0.4 * knack[:, None] * tech_boost
        self.conversions: Ints = self._live(np.minimum(rng.poisson(rate), 40).astype(np.int64))

    # -- qualifications, year by year --

    def simulate(self, progress: Progress | None) -> None:
        """Draw the firms, their figures, then their qualifications year by year."""
        n, s = self.n, self.s
        preparation = (self._identity, self._finances, self._research)
        for done, step in enumerate(preparation, start=1):
            step()
            if progress:
                progress("simulate", done, len(preparation) + s)
        self.cert_out = np.zeros((n, s), dtype=np.int64)
        self.first_out = np.zeros((n, s), dtype=np.int64)
        self.sme_serial = np.zeros((n, s), dtype=np.int64)
        self.pool = np.zeros((n, s), dtype=bool)
        self.listed = np.zeros((n, s), dtype=bool)
        self.cert = np.zeros(n, dtype=np.int64)
        self.first = np.zeros(n, dtype=np.int64)
        listed_total = max(1, round(self.n * 0.002))
        self.listed_early = math.ceil(listed_total * 0.6)
        later_years = self.last_year - self.first_year
        draws = self.rng.integers(0, max(later_years, 1), listed_total - self.listed_early)
        self.new_listings = (
            np.bincount(draws, minlength=max(later_years, 1)) if later_years else None
        )
        self.pool_size = min(100, math.ceil(self.n / 20))
        for j in range(s):
            self._hitech_year(j)
            self._listing_year(j)
            self._pool_year(j)
            self._tech_sme_year(j)
            if progress:
                progress("simulate", len(preparation) + j + 1, len(preparation) + s)

    def _hitech_eligible(self, j: int) -> Bools:
        """The §2 conditions on the figures of year j (and j-1 … j-3 where alive)."""
        t = int(self.years[j])
        ok = self.alive[:, j] & (self.registered <= dt.date(t - 1, 6, 30).toordinal())
        ok &= (self.ip1[:, j] + self.ip2[:, j] >= 1) & (self.rd[:, j] > 0) & (t >= HITECH_SINCE)
        ok &= self.rd_domestic[:, j] * 10 >= self.rd[:, j] * 6
        reference = (
            self.revenue[:, j] if j == 0 else np.minimum(self.revenue[:, j], self.revenue[:, j - 1])
        )
        pct = _rd_band_pct(reference)
        for k in range(max(0, j - 1), j + 1):
            live = self.alive[:, k]
            ok &= ~self.incident[:, k]
            ok &= ~live | (self.st_staff[:, k] * 10 >= self.employees[:, k])
            ok &= ~live | (self.hitech[:, k] * 10 >= self.revenue[:, k] * 6)
        for k in range(max(0, j - 3), j + 1):
            ok &= ~self.alive[:, k] | (self.rd[:, k] * 100 >= pct * self.revenue[:, k])
        ok &= self.conversions[:, max(0, j - 2) : j + 1].sum(axis=1) >= 1
        return ok

    def _hitech_year(self, j: int) -> None:
        rng, t = self.rng, int(self.years[j])
        eligible = self._hitech_eligible(j)
        if j == 0:  # certificates issued before the simulation: some eligible firms hold one
            held = eligible & (rng.random(self.n) < 0.45)
            issued = np.maximum(t - rng.integers(0, 3, self.n), self.reg_year + 1)
            floor = np.maximum(HITECH_SINCE, self.reg_year + 1)
            terms = np.minimum(
                rng.choice(4, size=self.n, p=[0.45, 0.3, 0.15, 0.1]), (issued - floor) // 3
            )
            held &= issued >= HITECH_SINCE
            self.cert = np.where(held, issued, 0)
            self.first = np.where(held, issued - 3 * np.maximum(terms, 0), 0)
        else:
            draw_renew, draw_new = rng.random(self.n), rng.random(self.n)
            apply = min(0.18 + 0.05 * max(t - 2016, 0), 0.5)  # the scheme grew fast
            renew = (self.cert > 0) & (self.cert == t - 3) & eligible & (draw_renew < 0.88)
            returning = (self.first > 0) & (self.cert < t - 3) & eligible & (draw_new < apply)
            new = (self.first == 0) & eligible & (draw_new < apply)
            self.cert = np.where(renew | returning | new, t, self.cert)
            self.first = np.where(new, t, self.first)
        valid = self.alive[:, j] & (self.cert > 0) & (self.cert >= t - 2)
        self.cert_out[:, j] = np.where(valid, self.cert, 0)
        self.first_out[:, j] = np.where(self.alive[:, j], self.first, 0)

    def _listing_year(self, j: int) -> None:
        """A handful of large firms are listed before the output years; a few list later, from
        the listing pool when there is one."""
        t = int(self.years[j])
        listed = self.listed[:, j - 1].copy() if j else np.zeros(self.n, dtype=bool)
        if j == 0:
            old = self.alive[:, 0] & (self.reg_year <= t - 3)
            score = np.log1p(self.revenue[:, 0]) + 0.3 * self.rng.standard_normal(self.n)
            listed |= self._top(np.where(old, score, -np.inf), self.listed_early)
        elif self.new_listings is not None and t > self.first_year:
            count = int(self.new_listings[t - self.first_year - 1])
            pool = self.pool[:, j - 1] & ~listed & self.alive[:, j]
            certified = (self.cert_out[:, j] > 0) & ~listed
            candidates = pool if pool.sum() >= count else certified
            score = np.log1p(self.revenue[:, j]).astype(np.float64)
            listed |= self._top(np.where(candidates, score, -np.inf), count)
        self.listed[:, j] = listed

    def _pool_year(self, j: int) -> None:
        """Listing cultivation pool (高企上市培育库) in the last two output years: members stay
        while certified and unlisted; the rest is filled by size, R&D intensity and growth."""
        t = int(self.years[j])
        if t < max(self.first_year, self.last_year - 1):
            return
        candidates = (self.cert_out[:, j] > 0) & ~self.listed[:, j]
        keep = self.pool[:, j - 1] & candidates
        need = self.pool_size - int(keep.sum())
        revenue = np.maximum(self.revenue[:, j], 1).astype(np.float64)
        growth = np.log1p(self.rd[:, j]) - np.log1p(self.rd[:, j - 1])
        score = np.log(revenue) + 20 * self.rd[:, j] / revenue + growth
        score = score + 0.5 * self.rng.standard_normal(self.n)
        self.pool[:, j] = keep | self._top(np.where(candidates & ~keep, score, -np.inf), need)

    def _top(self, score: Floats, count: int) -> Bools:
        chosen = np.zeros(self.n, dtype=bool)
        finite = int(np.isfinite(score).sum())
        count = min(count, finite)
        if count > 0:
            chosen[np.argsort(-score, kind="stable")[:count]] = True
        return chosen

    def _tech_sme_score_ok(self, k: int) -> Bools:
        """Composite score ≥ 60 with S&T staff points > 0 (§1, 第七条) on year k's figures."""
        staff = _bands(
            self.st_staff[:, k],
            self.employees[:, k],
            ((30, 20), (25, 16), (20, 12), (15, 8), (10, 4)),
        )
        by_revenue = _bands(
            self.rd[:, k], self.revenue[:, k], ((6, 50), (5, 40), (4, 30), (3, 20), (2, 10))
        )
        by_costs = _bands(
            self.rd[:, k], self.costs[:, k], ((30, 50), (25, 40), (20, 30), (15, 20), (10, 10))
        )
        ip2 = self.ip2[:, k]
        ip = np.where(
            self.ip1[:, k] >= 1,
            30,
            np.select([ip2 >= 4, ip2 == 3, ip2 == 2, ip2 == 1], [24, 18, 12, 6], 0),
        )
        ok: Bools = (staff > 0) & (staff + np.maximum(by_revenue, by_costs) + ip >= 60)
        return ok

    def _tech_sme_year(self, j: int) -> None:
        """Registration in the national tech-SME database, one number per year (§1)."""
        t = int(self.years[j])
        if t < TECH_SME_SINCE:
            return
        limit = 200 * MILLION_FEN
        basic = self.alive[:, j] & (self.employees[:, j] <= 500) & ~self.incident[:, j]
        basic &= (self.revenue[:, j] <= limit) & (self.assets[:, j] <= limit)
        scored = self._tech_sme_score_ok(j)
        if j:
            basic &= ~self.incident[:, j - 1]
            scored &= ~self.alive[:, j - 1] | self._tech_sme_score_ok(j - 1)
        eligible = basic & (scored | (self.cert_out[:, j] > 0))
        before = self.sme_serial[:, j - 1] > 0 if j else np.zeros(self.n, dtype=bool)
        chance = np.where(before, 0.93, min(0.3 + 0.08 * (t - TECH_SME_SINCE), 0.75))
        registered = eligible & (self.rng.random(self.n) < chance)
        order = self.rng.permutation(np.flatnonzero(registered))
        counters: dict[str, int] = {}
        for i in order.tolist():
            code = self.district[i]
            if code not in counters:
                counters[code] = int(self.rng.integers(1, 3000))
            self.sme_serial[i, j] = counters[code]
            counters[code] += 1

    # -- output --

    def rows(self, progress: Progress | None) -> list[tuple[Any, ...]]:
        firm, col = np.nonzero(self.alive[:, HISTORY:])
        col = col + HISTORY
        years = self.years[col].tolist()
        firms = firm.tolist()
        registered = [dt.date.fromordinal(int(d)) for d in self.registered.tolist()]
        above = self.revenue >= np.array([ABOVE_SIZE_FEN[s] for s in self.sector])[:, None]

        def at(values: npt.NDArray[Any]) -> list[Any]:
            result: list[Any] = values[firm, col].tolist()
            return result

        def money(values: Ints) -> list[Decimal]:
            return [Decimal(v).scaleb(-2) for v in at(values)]

        def year_or_none(values: Ints) -> list[int | None]:
            return [v or None for v in at(values)]

        def numbers() -> list[str]:
            serials = at(self.sme_serial)
            return [
                f"{y}{self.district[i]}A{serial:07d}" if serial else ""
                for i, y, serial in zip(firms, years, serials, strict=True)
            ]

        makers: dict[str, Callable[[], list[Any]]] = {
            "uscc": lambda: [self.uscc[i] for i in firms],
            "name": lambda: self._names()[firm, col].tolist(),
            "year": lambda: years,
            "district_code": lambda: [self.district[i] for i in firms],
            "registered_on": lambda: [registered[i] for i in firms],
            "sector": lambda: self.sector[firm].tolist(),
            "manufacturing": lambda: self.manufacturing[firm].tolist(),
            "above_designated_size": lambda: at(above),
            "employees": lambda: at(self.employees),
            "st_staff": lambda: at(self.st_staff),
            "revenue": lambda: money(self.revenue),
            "total_costs": lambda: money(self.costs),
            "total_assets": lambda: money(self.assets),
            "net_assets": lambda: money(self.net_assets),
            "rd_expense": lambda: money(self.rd),
            "rd_expense_domestic": lambda: money(self.rd_domestic),
            "rd_deductible": lambda: money(self.rd_deductible),
            "hitech_revenue": lambda: money(self.hitech),
            "ip_class1": lambda: at(self.ip1),
            "ip_class2": lambda: at(self.ip2),
            "conversions": lambda: at(self.conversions),
            "hitech_cert_year": lambda: year_or_none(self.cert_out),
            "hitech_first_cert_year": lambda: year_or_none(self.first_out),
            "tech_sme_number": numbers,
            "in_listing_pool": lambda: at(self.pool),
            "listed": lambda: at(self.listed),
            "incident": lambda: at(self.incident),
        }
        columns: list[list[Any]] = []
        for done, (name, _) in enumerate(EXPORT_COLUMNS, start=1):
            columns.append(makers[name]())
            if progress:
                progress("rows", done, len(EXPORT_COLUMNS))
        return list(zip(*columns, strict=True))

    def _names(self) -> npt.NDArray[np.str_]:
        """Firms become 股份有限公司 when they join the listing pool or list, and stay so."""
        joint = self.joint_stock[:, None] | np.logical_or.accumulate(
            self.pool | self.listed, axis=1
        )
        stems = np.array(self.stem)[:, None]
        names: npt.NDArray[np.str_] = np.where(
            joint, np.char.add(stems, "股份有限公司"), np.char.add(stems, "有限公司")
        )
        return names


# ---- universities, institutes and banks --------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    """A non-enterprise organisation of the city. Mainland ones get a synthetic but valid USCC
    (public institutions: authority 1, type 2; banks: 9, 1) from ``body8``, which starts with
    "QD" so it never meets a generated enterprise code; HK and Macao ones a local id."""

    kind: str
    region: str
    name: str
    name_en: str
    key: str  # body8 (mainland) or local_id (HK, MO)
    district_code: str = ""

    @property
    def uscc(self) -> str | None:
        if self.region != Region.MAINLAND:
            return None
        authority, org_type = ("9", "1") if self.kind == Kind.BANK else ("1", "2")
        return uscc_build(
            authority=authority, org_type=org_type, division=self.district_code, body8=self.key
        )


# kind, region, USCC body or local id, district, name | English name
_PARTNER_TABLE = """
university HK HK-UNI-0001 -      香港科技大学 | The Hong Kong University of Science and Technology
university HK HK-UNI-0002 -      香港大学 | The University of Hong Kong
university HK HK-UNI-0003 -      香港中文大学 | The Chinese University of Hong Kong
university HK HK-UNI-0004 -      香港理工大学 | The Hong Kong Polytechnic University
university HK HK-UNI-0005 -      香港城市大学 | City University of Hong Kong
institute  HK HK-INS-0001 -      香港应用科技研究院 | Hong Kong Applied Science and Technology Research Institute
institute  HK HK-INS-0002 -      纳米及先进材料研发院 | Nano and Advanced Materials Institute
institute  HK HK-INS-0003 -      汽车科技研发中心 | Automotive Platforms and Application Systems R&D Centre
university MO MO-UNI-0001 -      澳门大学 | University of Macau
university MO MO-UNI-0002 -      澳门科技大学 | Macau University of Science and Technology
university MO MO-UNI-0003 -      澳门理工大学 | Macao Polytechnic University
institute  MO MO-INS-0001 -      澳门生产力暨科技转移中心 | Macau Productivity and Technology Transfer Center
institute  MO MO-INS-0002 -      澳门大学中华医药研究院 | Institute of Chinese Medical Sciences, University of Macau
university CN QDU00001    370202 中国海洋大学 | Ocean University of China
university CN QDU00002    370202 青岛大学 | Qingdao University
university CN QDU00003    370211 山东科技大学 | Shandong University of Science and Technology
university CN QDU00004    370203 青岛科技大学 | Qingdao University of Science and Technology
institute  CN QDR00001    370202 中国科学院海洋研究所 | Institute of Oceanology, Chinese Academy of Sciences
institute  CN QDR00002    370212 中国科学院青岛生物能源与过程研究所 | Qingdao Institute of Bioenergy and Bioprocess Technology, CAS
institute  CN QDR00003    370212 自然资源部第一海洋研究所 | First Institute of Oceanography, Ministry of Natural Resources
institute  CN QDR00004    370212 崂山实验室 | Laoshan Laboratory
bank       CN QDB00001    370202 青岛银行 | Bank of Qingdao
bank       CN QDB00002    370212 青岛农商银行 | Qingdao Rural Commercial Bank
bank       CN QDB00003    370202 中国银行青岛分行 | Bank of China, Qingdao Branch
bank       CN QDB00004    370202 中国工商银行青岛分行 | Industrial and Commercial Bank of China, Qingdao Branch
bank       CN QDB00005    370202 中国建设银行青岛分行 | China Construction Bank, Qingdao Branch
bank       CN QDB00006    370202 招商银行青岛分行 | China Merchants Bank, Qingdao Branch
"""  # noqa: E501
PARTNERS: tuple[Partner, ...] = tuple(
    Partner(kind, region, name.strip(), name_en.strip(), key, "" if district == "-" else district)
    for line in _PARTNER_TABLE.strip().splitlines()
    for (kind, region, key, district, name), name_en in [
        (line.split("|")[0].split(maxsplit=4), line.split("|")[1])
    ]
)


def partners_ensure() -> int:
    """Create the universities, institutes and banks of :data:`PARTNERS` that are missing.

    Idempotent: an organisation is found by USCC (mainland) or by region and local id (HK,
    Macao) and left as it is when present. Returns how many were created.
    """
    created = 0
    for partner in PARTNERS:
        defaults = {"kind": partner.kind, "name": partner.name, "name_en": partner.name_en,
                    "district_code": partner.district_code}  # fmt: skip
        uscc = partner.uscc
        if uscc is not None:
            _, new = Organisation.objects.get_or_create(
                uscc=uscc, defaults={**defaults, "region": partner.region}
            )
        else:
            _, new = Organisation.objects.get_or_create(
                region=partner.region, local_id=partner.key, defaults=defaults
            )
        created += new
    return created
