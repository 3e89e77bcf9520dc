"""Rubric scoring, per-expert normalisation, ranking, stage pass rules and the funding line.

Plain values in, plain values out (no models): the review services turn rows into these
dataclasses and store what comes back. Rules decided here, each one a contract:

* **Weights** are shares that sum to exactly 1 (``0.30``, ``0.25``, …). An expert's total is
  ``Σ weight × mark``, exact, so it lies in ``[Σ weight × min, Σ weight × max]``; a rubric of
  0–100 marks therefore totals 0–100.
* **Scores** shown and compared are rounded half-up to 2 places (``0.01``): an application's
  score is the mean of its experts' totals (raw or normalised), then rounded.
* **z-score normalisation** (optional, per stage): each expert's totals become
  ``z = (x − mean_e) / sd_e`` with the population standard deviation; an expert with a single
  score or with all scores equal has no spread to measure, so every ``z`` of theirs is 0 (their
  scores count as the panel average). The ``z`` are mapped back to the rubric's scale as
  ``mean_p + z × sd_p`` with the panel's overall mean and population sd of raw totals, rounded
  to 0.01. Adding a constant to one expert's totals leaves every ``z`` unchanged. The rescaled
  totals keep the panel's mean and spread but may fall slightly outside the rubric's range.
* **Ranking**: score descending; ties broken by the mean mark on the rubric's key criterion
  (the heaviest weight; the first listed among equals) descending, then the earlier
  submission, then the smaller application id. Ranks are 1..n with no shared ranks.
* **Pass rules** (``stage_pass``): ``top_n``, ``top_share`` (the top ``floor(share × n)``: a
  share is a cap) and ``min_score`` (score ≥ it); several keys all apply (AND).
* **Funding line** (``funding_line``), in rank order, never above the budget, money in ``Decimal``
  yuan at fen precision: ``"none"`` draws the line at the first application whose request does
  not fit — it and everything below go unfunded; ``"skip"`` passes over one that does not fit
  and keeps funding smaller requests below it; ``"partial"`` gives the first one that does not
  fit whatever is left when that is at least ``min_share`` of its request, and draws the line
  there either way.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Literal

from wotu.core.errors import WotuError
from wotu.core.money import round_fen

SCORE_PLACES = Decimal("0.01")
PASS_RULE_KEYS = ("top_n", "top_share", "min_score")
PARTIAL_RULES = ("none", "skip", "partial")
Outcome = Literal["funded", "partial", "unfunded"]


@dataclass(frozen=True)
class Criterion:
    """One rubric line: marks run from ``min`` to ``max``; ``weight`` is its share of 1."""

    code: str
    label_zh: str
    label_en: str
    weight: Decimal
    min: Decimal
    max: Decimal


@dataclass(frozen=True)
class Rubric:
    """A stage's rubric: ordered criteria whose weights sum to exactly 1."""

    code: str
    criteria: tuple[Criterion, ...]

    @property
    def key_criterion(self) -> Criterion:
        """The heaviest criterion (the first listed among equals): the first tie-breaker."""
        return max(self.criteria, key=lambda c: c.weight)  # max() keeps the first of equals

    @property
    def total_range(self) -> tuple[Decimal, Decimal]:
        """The lowest and highest total a sheet can reach."""
        low = sum((c.weight * c.min for c in self.criteria), Decimal(0))
        high = sum((c.weight * c.max for c in self.criteria), Decimal(0))
        return low, high


@dataclass(frozen=True)
class ScoreSheet:
    """One expert's marks for one application, keyed by criterion code."""

    expert_id: int
    application_id: int
    marks: Mapping[str, Decimal]


@dataclass(frozen=True)
class ExpertScore:
    """One expert's total for one application."""

    expert_id: int
    application_id: int
    total: Decimal


@dataclass(frozen=True)
class NormalisedScore:
    """An expert's total before (``raw``) and after z-score normalisation."""

    expert_id: int
    application_id: int
    raw: Decimal
    z: Decimal
    normalised: Decimal


@dataclass(frozen=True)
class ApplicationResult:
    """What ranking needs about one application (scores already rounded to 0.01)."""

    application_id: int
    score: Decimal
    key_score: Decimal
    submitted_at: datetime


@dataclass(frozen=True)
class Ranked:
    """An application's place: ``rank`` 1 is first."""

    rank: int
    application_id: int
    score: Decimal
    key_score: Decimal
    submitted_at: datetime


@dataclass(frozen=True)
class PassRule:
    """A validated pass rule; ``None`` means that condition is not used."""

    top_n: int | None = None
    top_share: Decimal | None = None
    min_score: Decimal | None = None


@dataclass(frozen=True)
class Funding:
    """One application's line in the funding proposal (amounts in yuan, fen precision)."""

    rank: int
    application_id: int
    requested: Decimal
    awarded: Decimal
    outcome: Outcome


@dataclass(frozen=True)
class FundingLine:
    """The proposal: every ranked application in rank order; ``awarded`` ≤ ``budget``."""

    rows: tuple[Funding, ...]
    budget: Decimal
    awarded: Decimal
    remaining: Decimal


# --- rubric and totals ----------------------------------------------------------------


def rubric_validate(*, rubric: Rubric) -> None:
    """Raise WotuError unless the rubric has criteria with unique non-empty codes,
    positive weights summing to exactly 1, and ``min < max`` on each line."""
    if not rubric.criteria:
        raise _rubric_error(rubric, "没有任何评分指标", "has no criteria")
    seen: set[str] = set()
    for c in rubric.criteria:
        if not c.code.strip():
            raise _rubric_error(rubric, "有指标缺少代码", "has a criterion without a code")
        if c.code in seen:
            raise _rubric_error(rubric, f"指标代码 {c.code} 重复", f"lists code {c.code} twice")
        seen.add(c.code)
        for name, value in (("weight", c.weight), ("min", c.min), ("max", c.max)):
            _decimal_require(f"{rubric.code}.{c.code}.{name}", value)
        if c.weight <= 0:
            raise _rubric_error(
                rubric,
                f"指标 {c.code}（{c.label_zh}）的权重 {c.weight:f} 必须大于 0",
                f"criterion {c.code} ({c.label_en}) has weight {c.weight:f}; it must be above 0",
            )
        if not c.min < c.max:
            raise _rubric_error(
                rubric,
                f"指标 {c.code}（{c.label_zh}）的下限 {c.min:f} 必须小于上限 {c.max:f}",
                f"criterion {c.code} ({c.label_en}) needs min {c.min:f} below max {c.max:f}",
            )
    weights = sum((c.weight for c in rubric.criteria), Decimal(0))
    if weights != 1:
        raise _rubric_error(
            rubric,
            f"各指标权重之和为 {weights:f}，必须恰好为 1（如 0.30、0.25…，百分比请除以 100）",
            f"weights sum to {weights:f}; they must sum to exactly 1 (e.g. 0.30, 0.25…; "
            "divide percentages by 100)",
        )


def score_total(*, rubric: Rubric, marks: Mapping[str, Decimal]) -> Decimal:
    """An expert's total ``Σ weight × mark``, exact (not rounded).

    Every criterion needs a mark within its range and no other key is allowed; a refusal
    names the criterion, the value and the range.
    """
    rubric_validate(rubric=rubric)
    codes = {c.code for c in rubric.criteria}
    missing = [c for c in rubric.criteria if c.code not in marks]
    if missing:
        names_zh = "、".join(f"{c.code}（{c.label_zh}）" for c in missing)
        names_en = ", ".join(f"{c.code} ({c.label_en})" for c in missing)
        raise WotuError(f"评分缺少指标 {names_zh}", f"marks are missing for {names_en}")
    extra = sorted(str(k) for k in marks if k not in codes)
    if extra:
        raise WotuError(
            f"评分含有评分表中没有的指标 {', '.join(extra)}（评分表：{', '.join(sorted(codes))}）",
            f"marks name criteria not in the rubric: {', '.join(extra)} "
            f"(rubric: {', '.join(sorted(codes))})",
        )
    total = Decimal(0)
    for c in rubric.criteria:
        mark = _mark_read(c, marks[c.code])
        total += c.weight * mark
    return total


def _mark_read(criterion: Criterion, raw: object) -> Decimal:
    c = criterion
    if isinstance(raw, bool) or not isinstance(raw, (Decimal, int)) or not Decimal(raw).is_finite():
        raise WotuError(
            f"指标 {c.code}（{c.label_zh}）的评分 {raw!r} 不是有效数字（请用 Decimal）",
            f"criterion {c.code} ({c.label_en}): the mark {raw!r} is not a valid number "
            "(use Decimal)",
        )
    mark = Decimal(raw)
    if not c.min <= mark <= c.max:
        raise WotuError(
            f"指标 {c.code}（{c.label_zh}）的评分 {mark:f} 超出范围 [{c.min:f}, {c.max:f}]",
            f"criterion {c.code} ({c.label_en}): the mark {mark:f} is outside "
            f"[{c.min:f}, {c.max:f}]",
        )
    return mark


# --- normalisation --------------------------------------------------------------------


def normalise_zscore(*, scores: Sequence[ExpertScore]) -> list[NormalisedScore]:
    """Per-expert z-scores mapped back to the panel's scale, in the order given.

    See the module notes for the rule (population sd; ``z = 0`` for an expert with one score
    or no spread; ``normalised = mean_p + z × sd_p`` rounded half-up to 0.01). Raises
    WotuError when one expert has two totals for the same application.
    """
    _pairs_unique(scores)
    if not scores:
        return []
    with localcontext() as ctx:
        ctx.prec = 50
        by_expert: dict[int, list[Decimal]] = defaultdict(list)
        for s in scores:
            by_expert[s.expert_id].append(s.total)
        stats = {e: _mean_sd(totals) for e, totals in by_expert.items()}
        panel_mean, panel_sd = _mean_sd([s.total for s in scores])
        out = []
        for s in scores:
            mean_e, sd_e = stats[s.expert_id]
            z = Decimal(0) if sd_e == 0 else (s.total - mean_e) / sd_e
            out.append(
                NormalisedScore(
                    expert_id=s.expert_id,
                    application_id=s.application_id,
                    raw=s.total,
                    z=z,
                    normalised=_round2(panel_mean + z * panel_sd),
                )
            )
    return out


def _mean_sd(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """Mean and population standard deviation (0 for one value), at the context's precision."""
    mean = sum(values, Decimal(0)) / len(values)
    variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / len(values)
    return mean, variance.sqrt()


def _pairs_unique(scores: Sequence[ExpertScore] | Sequence[ScoreSheet]) -> None:
    seen: set[tuple[int, int]] = set()
    for s in scores:
        pair = (s.expert_id, s.application_id)
        if pair in seen:
            raise WotuError(
                f"专家 {s.expert_id} 对申请 {s.application_id} 有两份评分；"
                "每位专家每项申请只能一份",
                f"expert {s.expert_id} has two scores for application {s.application_id}; "
                "one per expert and application",
            )
        seen.add(pair)


# --- results and ranking --------------------------------------------------------------


def results_compile(
    *,
    rubric: Rubric,
    sheets: Sequence[ScoreSheet],
    submitted_at: Mapping[int, datetime],
    normalise: bool = False,
) -> list[ApplicationResult]:
    """Each scored application's result, by application id.

    ``score`` is the mean of its experts' totals (z-normalised across all ``sheets`` when
    ``normalise``), ``key_score`` the mean raw mark on the rubric's key criterion, both
    rounded half-up to 0.01. Refusals name the expert and application of a bad sheet, or an
    application without a submission time.
    """
    _pairs_unique(sheets)
    totals = [
        ExpertScore(
            expert_id=s.expert_id, application_id=s.application_id, total=_sheet_total(rubric, s)
        )
        for s in sheets
    ]
    if normalise:
        totals = [
            ExpertScore(expert_id=n.expert_id, application_id=n.application_id, total=n.normalised)
            for n in normalise_zscore(scores=totals)
        ]
    key = rubric.key_criterion.code
    by_app: dict[int, list[Decimal]] = defaultdict(list)
    key_marks: dict[int, list[Decimal]] = defaultdict(list)
    for t, s in zip(totals, sheets, strict=True):
        by_app[t.application_id].append(t.total)
        key_marks[s.application_id].append(Decimal(s.marks[key]))
    results = []
    for app in sorted(by_app):
        if app not in submitted_at:
            raise WotuError(
                f"申请 {app} 缺少提交时间，无法按规则排序",
                f"application {app} has no submission time, needed by the tie rule",
            )
        results.append(
            ApplicationResult(
                application_id=app,
                score=_round2(_mean(by_app[app])),
                key_score=_round2(_mean(key_marks[app])),
                submitted_at=submitted_at[app],
            )
        )
    return results


def _sheet_total(rubric: Rubric, sheet: ScoreSheet) -> Decimal:
    try:
        return score_total(rubric=rubric, marks=sheet.marks)
    except WotuError as exc:
        raise WotuError(
            f"专家 {sheet.expert_id} 对申请 {sheet.application_id} 的评分：{exc.zh}",
            f"expert {sheet.expert_id}, application {sheet.application_id}: {exc.en}",
        ) from exc


def rank_applications(*, results: Sequence[ApplicationResult]) -> list[Ranked]:
    """Rank 1..n: score descending, then key criterion score descending, then earlier
    submission, then smaller application id. Every application gets its own rank.

    Raises WotuError for a repeated application or a submission time without a time zone.
    """
    seen: set[int] = set()
    for r in results:
        if r.application_id in seen:
            raise WotuError(
                f"申请 {r.application_id} 在排序名单中出现两次",
                f"application {r.application_id} appears twice in the results",
            )
        seen.add(r.application_id)
        if r.submitted_at.tzinfo is None or r.submitted_at.utcoffset() is None:
            raise WotuError(
                f"申请 {r.application_id} 的提交时间未带时区",
                f"application {r.application_id}: the submission time has no time zone",
            )
    ordered = sorted(
        results, key=lambda r: (-r.score, -r.key_score, r.submitted_at, r.application_id)
    )
    return [
        Ranked(
            rank=i,
            application_id=r.application_id,
            score=r.score,
            key_score=r.key_score,
            submitted_at=r.submitted_at,
        )
        for i, r in enumerate(ordered, start=1)
    ]


# --- pass rules ------------------------------------------------------------------------


def pass_rule_validate(*, rule: Mapping[str, object]) -> PassRule:
    """Read a pass rule such as ``{"top_n": 60}``, ``{"top_share": 0.5}``, ``{"min_score": 60}``
    or several together (all must hold). Raises WotuError for an empty rule, an unknown key or
    a value out of range: ``top_n`` a whole number ≥ 1, ``0 < top_share ≤ 1``, ``min_score``
    a number."""
    unknown = sorted(str(k) for k in rule if k not in PASS_RULE_KEYS)
    if unknown or not rule:
        allowed = ", ".join(PASS_RULE_KEYS)
        raise WotuError(
            f"晋级规则的键 {', '.join(unknown) or '（空）'} 无效；可用：{allowed}",
            f"invalid pass rule key(s) {', '.join(unknown) or '(none given)'}; use: {allowed}",
        )
    for key, value in rule.items():
        if value is None:
            raise WotuError(f"晋级规则 {key} 缺少取值", f"pass rule {key} must have a value")
    top_n = rule.get("top_n")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise WotuError(
            f"top_n 必须是不小于 1 的整数，收到 {top_n!r}",
            f"top_n must be a whole number of at least 1, got {top_n!r}",
        )
    share = _number_read("top_share", rule.get("top_share"))
    if share is not None and not Decimal(0) < share <= 1:
        raise WotuError(
            f"top_share 必须大于 0 且不大于 1，收到 {share:f}",
            f"top_share must be above 0 and at most 1, got {share:f}",
        )
    return PassRule(
        top_n=top_n, top_share=share, min_score=_number_read("min_score", rule.get("min_score"))
    )


def stage_pass(*, ranked: Sequence[Ranked], rule: Mapping[str, object]) -> list[Ranked]:
    """The applications that pass the stage, in rank order: a prefix of ``ranked``.

    An application passes when every condition of the rule holds: rank ≤ ``top_n``,
    rank ≤ ``floor(top_share × n)`` and score ≥ ``min_score``.
    """
    parsed = pass_rule_validate(rule=rule)
    _ranked_check(ranked)
    cap = len(ranked)
    if parsed.top_n is not None:
        cap = min(cap, parsed.top_n)
    if parsed.top_share is not None:
        cap = min(cap, math.floor(parsed.top_share * len(ranked)))
    passed = []
    for r in ranked[:cap]:
        if parsed.min_score is not None and r.score < parsed.min_score:
            break  # scores descend with rank, so nobody below passes either
        passed.append(r)
    return passed


# --- funding line ----------------------------------------------------------------------


def funding_line(
    *,
    ranked: Sequence[Ranked],
    requested: Mapping[int, Decimal],
    budget: Decimal,
    partial: str = "none",
    min_share: Decimal = Decimal("0.5"),
) -> FundingLine:
    """Fund in rank order while the budget lasts; never award more than ``budget``.

    ``partial`` is ``"none"``, ``"skip"`` or ``"partial"`` (see the module notes);
    ``min_share`` (0 < share ≤ 1) only matters for ``"partial"``. Amounts are yuan in
    ``Decimal`` at fen precision (no sub-fen digits); every ranked application needs a positive
    request (extra keys in ``requested`` are ignored).
    """
    if partial not in PARTIAL_RULES:
        raise WotuError(
            f"不完全资助规则 {partial!r} 无效；可用：{', '.join(PARTIAL_RULES)}",
            f"unknown partial-funding rule {partial!r}; use one of {', '.join(PARTIAL_RULES)}",
        )
    _money_require("预算", "the budget", budget, allow_zero=True)
    _decimal_require("min_share", min_share)
    if not Decimal(0) < min_share <= 1:
        raise WotuError(
            f"min_share 必须大于 0 且不大于 1，收到 {min_share:f}",
            f"min_share must be above 0 and at most 1, got {min_share:f}",
        )
    _ranked_check(ranked)
    for r in ranked:
        if r.application_id not in requested:
            raise WotuError(
                f"申请 {r.application_id}（第 {r.rank} 名）缺少申请金额",
                f"application {r.application_id} (rank {r.rank}) has no requested amount",
            )
        _money_require(
            f"申请 {r.application_id} 的申请金额",
            f"application {r.application_id}'s request",
            requested[r.application_id],
        )
    rows: list[Funding] = []
    remaining, stopped = budget, False
    for r in ranked:
        ask = requested[r.application_id]
        award = Decimal("0.00")
        outcome: Outcome = "unfunded"
        if stopped:
            pass
        elif ask <= remaining:
            award, outcome = ask, "funded"
        elif partial == "skip":
            pass
        else:
            stopped = True
            if partial == "partial" and remaining > 0 and remaining >= min_share * ask:
                award, outcome = remaining, "partial"
        remaining -= award
        rows.append(_funding_row(r, ask, award, outcome))
    return FundingLine(
        rows=tuple(rows), budget=budget, awarded=budget - remaining, remaining=remaining
    )


def _funding_row(r: Ranked, ask: Decimal, award: Decimal, outcome: Outcome) -> Funding:
    return Funding(
        rank=r.rank,
        application_id=r.application_id,
        requested=ask,
        awarded=round_fen(award),
        outcome=outcome,
    )


# --- shared checks ---------------------------------------------------------------------


def _ranked_check(ranked: Sequence[Ranked]) -> None:
    seen: set[int] = set()
    previous = 0
    for r in ranked:
        if r.application_id in seen or r.rank <= previous:
            raise WotuError(
                "排名名单须按名次递增且每项申请只出现一次"
                f"（申请 {r.application_id}，第 {r.rank} 名）",
                "the ranked list must be in increasing rank order with each application once "
                f"(application {r.application_id}, rank {r.rank})",
            )
        seen.add(r.application_id)
        previous = r.rank


def _money_require(what_zh: str, what_en: str, amount: object, *, allow_zero: bool = False) -> None:
    ok = isinstance(amount, Decimal) and amount.is_finite() and amount == round_fen(amount)
    if ok and isinstance(amount, Decimal):
        ok = amount >= 0 if allow_zero else amount > 0
    if not ok:
        sign_zh, sign_en = ("不小于 0", "at least 0") if allow_zero else ("大于 0", "above 0")
        raise WotuError(
            f"{what_zh} {amount!r} 无效：须为以元计、精确到分、{sign_zh}的 Decimal",
            f"{what_en} {amount!r} is invalid: it must be a Decimal in yuan, {sign_en}, "
            "with at most 2 decimal places",
        )


def _decimal_require(what: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise WotuError(
            f"{what} 必须是有限的 Decimal，收到 {value!r}",
            f"{what} must be a finite Decimal, got {value!r}",
        )


def _number_read(what: str, raw: object) -> Decimal | None:
    """A rule number from JSON/YAML: int, float (read through its text form), Decimal or text."""
    if raw is None:
        return None
    try:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal, str)):
            raise InvalidOperation
        value = Decimal(str(raw))
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise WotuError(
            f"{what} 必须是数字，收到 {raw!r}", f"{what} must be a number, got {raw!r}"
        ) from None
    return value


def _mean(values: Sequence[Decimal]) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return sum(values, Decimal(0)) / len(values)


def _round2(value: Decimal) -> Decimal:
    return value.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


def _rubric_error(rubric: Rubric, zh: str, en: str) -> WotuError:
    return WotuError(f"评分表 {rubric.code} {zh}", f"rubric {rubric.code} {en}")
