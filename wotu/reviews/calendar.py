"""Working days for public notices (公示): the mainland China working calendar.

A day is a **working day** when the calendar lists it as a make-up working day (调休上班日, always
a Saturday or Sunday); otherwise it is a **rest day** when listed as a public holiday or when it
is a Saturday or Sunday; otherwise it is a working day. The dates live in a YAML file
(``wotu/reviews/holidays/cn.yaml``: ``years``, ``holidays``, ``workdays``, optional
``provisional_years`` and ``sources``), copied from the State Council's yearly notice.

A date outside the years the file covers is refused with an error naming the year: an unknown
year is never treated as "weekends only", because a notice window that silently ran over the
Spring Festival would be too short.

Window rule (decided here): a notice published on day ``start`` runs for ``N`` working days
counted from the **first working day on or after** ``start`` — the publication day itself
counts when it is a working day, whatever the hour; a notice published on a Saturday starts
counting on Monday (or on the make-up working day). The window closes at 23:59:59.999999
Asia/Shanghai of the N-th working day, inclusive: an objection is on time when
``opens <= submitted_at <= closes``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from wotu.core.errors import WotuError

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PATH = Path(__file__).with_name("holidays") / "cn.yaml"
NOTICE_WORKING_DAYS = 5  # issue 4: the public notice runs 5 working days by default

TOP_KEYS = {"years", "provisional_years", "sources", "holidays", "workdays"}
ENTRY_KEYS = {"date", "name_zh", "name_en"}
SOURCE_KEYS = {"year", "document", "url"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class CalendarDay:
    """One listed date: a holiday or a make-up working day, with its name."""

    day: date
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class WorkCalendar:
    """The working calendar for the covered ``years``. Build it with :func:`calendar_load`."""

    years: tuple[int, ...]
    holidays: Mapping[date, CalendarDay]
    workdays: Mapping[date, CalendarDay]
    provisional_years: frozenset[int]
    source: str

    def is_working_day(self, d: date, /) -> bool:
        """Whether ``d`` is a working day. Raises WotuError for a year the calendar lacks."""
        calendar_require(calendar=self, day=d)
        if d in self.workdays:
            return True
        return d not in self.holidays and d.weekday() < 5

    def day_named(self, d: date, /) -> CalendarDay | None:
        """The holiday or make-up working day listed for ``d``, or None for an ordinary day."""
        calendar_require(calendar=self, day=d)
        return self.workdays.get(d) or self.holidays.get(d)

    def is_provisional(self, d: date, /) -> bool:
        """Whether ``d`` falls in a year whose arrangement is a guess, not yet published."""
        return d.year in self.provisional_years


def calendar_load(*, path: Path | str | None = None) -> WorkCalendar:
    """Load a working calendar from YAML; without ``path``, the bundled mainland one (cached).

    Raises WotuError naming the file, the entry and why: unknown keys, a missing or badly
    written date, a date outside ``years``, a make-up working day that is not a Saturday or
    Sunday, a date listed twice or as both a holiday and a working day, a covered year with no
    holidays at all.
    """
    if path is None:
        return _default_calendar()
    return _calendar_read(Path(path))


def calendar_years(*, calendar: WorkCalendar | None = None) -> tuple[int, ...]:
    """The years the calendar covers, ascending (the bundled calendar when none is given)."""
    return (calendar or calendar_load()).years


def calendar_require(*, calendar: WorkCalendar, day: date) -> None:
    """Raise WotuError unless ``day`` is a plain date in a year the calendar covers."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a datetime.date, got {type(day).__name__}: {day!r}")
    if day.year not in calendar.years:
        covered = "、".join(str(y) for y in calendar.years)
        raise WotuError(
            f"工作日历 {calendar.source} 未覆盖 {day.year} 年（{day.isoformat()}），"
            f"已覆盖：{covered}；请按国务院当年的放假安排补充该年后再计算工作日",
            f"the working calendar {calendar.source} does not cover {day.year} "
            f"({day.isoformat()}); it covers {', '.join(str(y) for y in calendar.years)}. "
            "Add that year's State Council holiday arrangement before counting working days",
        )


def working_days_add(*, calendar: WorkCalendar, start: date, days: int) -> date:
    """The last day of a window of ``days`` working days beginning on ``start``.

    Counting starts at the first working day on or after ``start`` (``start`` itself counts
    when it is a working day), so the result is always a working day and the window holds
    exactly ``days`` working days. ``days`` must be at least 1. Raises WotuError when the
    window reaches a year the calendar does not cover.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise WotuError(
            f"公示期工作日数必须是不小于 1 的整数，收到 {days!r}",
            f"the number of working days must be a whole number of at least 1, got {days!r}",
        )
    day, counted = start, 0
    while True:
        if calendar.is_working_day(day):
            counted += 1
            if counted == days:
                return day
        day += timedelta(days=1)


def working_days_between(*, calendar: WorkCalendar, start: date, end: date) -> list[date]:
    """The working days from ``start`` to ``end``, both included, ascending.

    Raises WotuError when ``end`` is before ``start`` or the range leaves the covered years.
    """
    if end < start:
        raise WotuError(
            f"结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}",
            f"the end date {end.isoformat()} is before the start date {start.isoformat()}",
        )
    calendar_require(calendar=calendar, day=end)
    span = (end - start).days + 1
    days = (start + timedelta(days=i) for i in range(span))
    return [d for d in days if calendar.is_working_day(d)]


def notice_window(
    *,
    calendar: WorkCalendar,
    published_at: datetime,
    working_days: int = NOTICE_WORKING_DAYS,
) -> tuple[datetime, datetime]:
    """The public notice's window ``(opens, closes)``, both aware, in Asia/Shanghai.

    ``opens`` is the publication instant; ``closes`` is 23:59:59.999999 Asia/Shanghai on the
    ``working_days``-th working day counted from the publication date (see the module rule:
    the publication date counts when it is a working day). The window is inclusive at both
    ends. ``published_at`` must be timezone-aware (any zone; it is converted).
    """
    if published_at.tzinfo is None or published_at.utcoffset() is None:
        raise WotuError(
            f"公示发布时间必须带时区（Asia/Shanghai），收到不带时区的 {published_at.isoformat()}",
            "the publication time must carry a time zone (Asia/Shanghai); got the naive "
            f"{published_at.isoformat()}",
        )
    opens = published_at.astimezone(SHANGHAI)
    last = working_days_add(calendar=calendar, start=opens.date(), days=working_days)
    return opens, datetime.combine(last, time.max, tzinfo=SHANGHAI)


# --- loading -----------------------------------------------------------------------------


class _TextDatesLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so a bad date is reported with its entry."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@functools.cache
def _default_calendar() -> WorkCalendar:
    return _calendar_read(DEFAULT_PATH)


def _fail(where: str, zh: str, en: str) -> WotuError:
    return WotuError(f"{where}：{zh}", f"{where}: {en}")


def _calendar_read(path: Path) -> WorkCalendar:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(
            str(path), f"无法读取工作日历文件（{exc}）", f"cannot read the file ({exc})"
        ) from exc
    try:
        data = yaml.load(text, Loader=_TextDatesLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _fail(name, f"YAML 格式错误：{exc}", f"bad YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(name, "顶层必须是映射（years、holidays…）", "the top level must be a mapping")
    _keys_check(name, data, allowed=TOP_KEYS, required={"years", "holidays"})
    years = _years_read(name, "years", data["years"], allow_empty=False)
    provisional = _years_read(
        name, "provisional_years", data.get("provisional_years") or [], allow_empty=True
    )
    for year in provisional:
        if year not in years:
            raise _fail(
                name,
                f"provisional_years 中的 {year} 不在 years 中",
                f"provisional year {year} is not one of the covered years",
            )
    _sources_check(name, data.get("sources") or [], years)
    holidays = _entries_read(name, "holidays", data["holidays"], years)
    workdays = _entries_read(name, "workdays", data.get("workdays") or [], years)
    for day, entry in workdays.items():
        if day in holidays:
            raise _fail(
                name,
                f"{day.isoformat()} 同时列为节假日（{holidays[day].name_zh}）和调休上班日"
                f"（{entry.name_zh}），只能保留一处",
                f"{day.isoformat()} is listed both as a holiday ({holidays[day].name_en}) and as "
                f"a make-up working day ({entry.name_en}); keep only one",
            )
    for year in years:
        if not any(d.year == year for d in holidays):
            raise _fail(
                name,
                f"{year} 年在 years 中但未列出任何节假日；请补充当年放假安排",
                f"{year} is a covered year but lists no holidays; add that year's arrangement",
            )
    return WorkCalendar(
        years=years,
        holidays=MappingProxyType(holidays),
        workdays=MappingProxyType(workdays),
        provisional_years=frozenset(provisional),
        source=name,
    )


def _keys_check(where: str, data: dict[Any, Any], *, allowed: set[str], required: set[str]) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise _fail(
            where,
            f"未知的键 {', '.join(unknown)}（允许：{', '.join(sorted(allowed))}）",
            f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})",
        )
    missing = sorted(required - set(data))
    if missing:
        raise _fail(where, f"缺少键 {', '.join(missing)}", f"missing key(s) {', '.join(missing)}")


def _years_read(name: str, key: str, raw: Any, *, allow_empty: bool) -> tuple[int, ...]:
    where = f"{name}: {key}"
    ok = isinstance(raw, list) and (allow_empty or raw)
    if not ok or any(isinstance(y, bool) or not isinstance(y, int) for y in raw):
        raise _fail(
            where, f"必须是年份（整数）列表，收到 {raw!r}", f"must be a list of years, got {raw!r}"
        )
    if len(set(raw)) != len(raw):
        raise _fail(where, f"年份重复：{raw!r}", f"a year is listed twice: {raw!r}")
    return tuple(sorted(raw))


def _sources_check(name: str, raw: Any, years: tuple[int, ...]) -> None:
    if not isinstance(raw, list):
        raise _fail(f"{name}: sources", "必须是列表", "must be a list")
    for i, source in enumerate(raw, start=1):
        where = f"{name}: sources 第 {i} 条 / entry {i}"
        if not isinstance(source, dict):
            raise _fail(where, "必须是映射", "must be a mapping")
        _keys_check(where, source, allowed=SOURCE_KEYS, required={"year", "document"})
        if source["year"] not in years:
            raise _fail(
                where,
                f"年份 {source['year']!r} 不在 years 中",
                f"year {source['year']!r} is not a covered year",
            )


def _entries_read(name: str, key: str, raw: Any, years: tuple[int, ...]) -> dict[date, CalendarDay]:
    if not isinstance(raw, list):
        raise _fail(f"{name}: {key}", "必须是列表", "must be a list")
    entries: dict[date, CalendarDay] = {}
    for i, item in enumerate(raw, start=1):
        where = f"{name}: {key} 第 {i} 条 / entry {i}"
        if not isinstance(item, dict):
            raise _fail(where, f"必须是映射，收到 {item!r}", f"must be a mapping, got {item!r}")
        where = f"{where} ({item.get('date')})"
        _keys_check(where, item, allowed=ENTRY_KEYS, required=ENTRY_KEYS)
        day = _date_parse(where, item["date"])
        for field in ("name_zh", "name_en"):
            if not isinstance(item[field], str) or not item[field].strip():
                raise _fail(where, f"{field} 不能为空", f"{field} must be non-empty text")
        if day.year not in years:
            raise _fail(
                where,
                f"{day.year} 年不在 years 中",
                f"{day.year} is not a covered year (add it to years)",
            )
        if day in entries:
            raise _fail(where, "该日期重复列出", "this date is listed twice")
        if key == "workdays" and day.weekday() < 5:
            raise _fail(
                where,
                "调休上班日必须是周六或周日（工作日本来就上班）",
                "a make-up working day must be a Saturday or Sunday (weekdays already are "
                "working days)",
            )
        entries[day] = CalendarDay(day=day, name_zh=item["name_zh"], name_en=item["name_en"])
    return entries


def _date_parse(where: str, raw: Any) -> date:
    text = str(raw)
    try:
        if not ISO_DATE.fullmatch(text):
            raise ValueError("not in YYYY-MM-DD form")
        return date.fromisoformat(text)
    except ValueError as exc:
        raise _fail(
            where,
            f"日期 {text!r} 无效，须为 YYYY-MM-DD（{exc}）",
            f"the date {text!r} is not a valid YYYY-MM-DD date ({exc})",
        ) from exc
