"""The public-notice working calendar: published arrangements, windows, and a strict loader."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wotu.core.errors import WotuError
from wotu.reviews.calendar import (
    DEFAULT_PATH,
    calendar_load,
    calendar_years,
    notice_window,
    working_days_add,
    working_days_between,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = calendar_load()


# --- the bundled calendar follows the State Council's notices ----------------------------


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        (date(2024, 2, 4), True, "2024 Spring Festival make-up Sunday"),
        (date(2024, 2, 9), True, "2024 New Year's Eve was not a holiday, only encouraged"),
        (date(2024, 2, 12), False, "2024 Spring Festival"),
        (date(2024, 2, 18), True, "2024 Spring Festival make-up Sunday"),
        (date(2024, 4, 7), True, "2024 Qingming make-up Sunday"),
        (date(2024, 5, 11), True, "2024 Labour Day make-up Saturday"),
        (date(2024, 9, 14), True, "2024 Mid-Autumn make-up Saturday"),
        (date(2024, 10, 12), True, "2024 National Day make-up Saturday"),
        (date(2025, 1, 1), False, "2025 New Year's Day"),
        (date(2025, 1, 26), True, "2025 Spring Festival make-up Sunday"),
        (date(2025, 1, 27), True, "the Monday before 2025 New Year's Eve"),
        (date(2025, 1, 28), False, "2025 New Year's Eve, a statutory holiday since 2025"),
        (date(2025, 2, 4), False, "last day of 2025 Spring Festival"),
        (date(2025, 2, 5), True, "first working day after 2025 Spring Festival"),
        (date(2025, 2, 8), True, "2025 Spring Festival make-up Saturday"),
        (date(2025, 4, 27), True, "2025 Labour Day make-up Sunday"),
        (date(2025, 5, 5), False, "2025 Labour Day"),
        (date(2025, 6, 2), False, "2025 Dragon Boat Festival"),
        (date(2025, 9, 28), True, "2025 National Day make-up Sunday"),
        (date(2025, 10, 8), False, "2025 National Day and Mid-Autumn, 8 days"),
        (date(2025, 10, 11), True, "2025 National Day make-up Saturday"),
        (date(2026, 1, 2), False, "2026 New Year holiday"),
        (date(2026, 1, 4), True, "2026 New Year make-up Sunday"),
        (date(2026, 2, 14), True, "2026 Spring Festival make-up Saturday"),
        (date(2026, 2, 15), False, "2026 Spring Festival starts on a Sunday"),
        (date(2026, 2, 23), False, "2026 Spring Festival ends on a Monday"),
        (date(2026, 2, 24), True, "first working day after 2026 Spring Festival"),
        (date(2026, 2, 28), True, "2026 Spring Festival make-up Saturday"),
        (date(2026, 4, 6), False, "2026 Qingming Monday"),
        (date(2026, 5, 9), True, "2026 Labour Day make-up Saturday"),
        (date(2026, 6, 19), False, "2026 Dragon Boat Friday"),
        (date(2026, 9, 20), True, "2026 National Day make-up Sunday"),
        (date(2026, 9, 25), False, "2026 Mid-Autumn Friday"),
        (date(2026, 10, 10), True, "2026 National Day make-up Saturday"),
        (date(2026, 3, 14), False, "an ordinary Saturday"),
        (date(2026, 3, 16), True, "an ordinary Monday"),
        (date(2027, 2, 5), False, "2027 New Year's Eve (statutory)"),
        (date(2027, 6, 9), False, "2027 Dragon Boat Festival (statutory, a Wednesday)"),
        (date(2027, 9, 15), False, "2027 Mid-Autumn Festival (statutory, a Wednesday)"),
    ],
)
def test_bundled_calendar_follows_the_published_arrangements(
    day: date, working: bool, why: str
) -> None:
    assert CN.is_working_day(day) is working, why


def test_the_bundled_calendar_covers_2024_to_2027_with_2027_provisional() -> None:
    assert calendar_years() == (2024, 2025, 2026, 2027)
    assert calendar_years(calendar=CN) == (2024, 2025, 2026, 2027)
    assert CN.is_provisional(date(2027, 3, 1))
    assert not CN.is_provisional(date(2026, 3, 1))


def test_listed_days_carry_their_names_in_both_languages() -> None:
    spring = CN.day_named(date(2025, 1, 29))
    assert spring is not None
    assert (spring.name_zh, spring.name_en) == ("春节", "Spring Festival")
    make_up = CN.day_named(date(2025, 2, 8))
    assert make_up is not None
    assert make_up.name_zh == "春节调休上班"
    assert CN.day_named(date(2025, 3, 3)) is None


def test_every_make_up_working_day_is_a_weekend_day() -> None:
    assert all(d.weekday() >= 5 for d in CN.workdays)


def test_a_date_past_the_covered_years_is_refused_not_guessed() -> None:
    with pytest.raises(WotuError) as refused:
        CN.is_working_day(date(2028, 1, 3))
    assert "2028" in refused.value.zh
    assert "does not cover 2028" in refused.value.en


def test_a_window_running_into_an_uncovered_year_is_refused() -> None:
    with pytest.raises(WotuError, match="2028"):
        working_days_add(calendar=CN, start=date(2027, 12, 28), days=5)


def test_a_datetime_is_not_mistaken_for_a_date() -> None:
    with pytest.raises(TypeError):
        CN.is_working_day(datetime(2025, 3, 3, 9, tzinfo=SHANGHAI))


# --- counting working days ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "last"),
    [
        (date(2025, 3, 3), 5, date(2025, 3, 7)),  # Monday: the publication day counts
        (date(2025, 3, 6), 5, date(2025, 3, 12)),  # Thursday: skips the weekend
        (date(2025, 3, 8), 5, date(2025, 3, 14)),  # Saturday: counting starts on Monday
        (date(2025, 1, 24), 5, date(2025, 2, 6)),  # Fri; make-up Sun 26th; Spring Festival
        (date(2025, 9, 26), 5, date(2025, 10, 9)),  # Fri; make-up Sun 28th; Golden Week
        (date(2026, 2, 12), 5, date(2026, 2, 25)),  # Thu; make-up Sat 14th; 9-day break
        (date(2024, 12, 30), 3, date(2025, 1, 2)),  # across the year end, New Year's Day
        (date(2025, 3, 3), 1, date(2025, 3, 3)),
    ],
)
def test_a_notice_lasts_the_given_number_of_working_days(
    start: date, days: int, last: date
) -> None:
    assert working_days_add(calendar=CN, start=start, days=days) == last


@pytest.mark.parametrize("days", [0, -1, True, 2.5])
def test_a_window_needs_at_least_one_whole_working_day(days: object) -> None:
    with pytest.raises(WotuError, match="at least 1"):
        working_days_add(calendar=CN, start=date(2025, 3, 3), days=days)  # type: ignore[arg-type]


def test_working_days_between_lists_both_ends_and_skips_the_festival() -> None:
    got = working_days_between(calendar=CN, start=date(2025, 1, 24), end=date(2025, 2, 8))
    assert got == [
        date(2025, 1, 24),
        date(2025, 1, 26),
        date(2025, 1, 27),
        date(2025, 2, 5),
        date(2025, 2, 6),
        date(2025, 2, 7),
        date(2025, 2, 8),
    ]


def test_working_days_between_refuses_a_reversed_range() -> None:
    with pytest.raises(WotuError, match="before the start"):
        working_days_between(calendar=CN, start=date(2025, 3, 5), end=date(2025, 3, 1))


covered_days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 1))


@given(start=covered_days, days=st.integers(min_value=1, max_value=15))
def test_the_window_holds_exactly_the_asked_working_days_and_ends_on_one(
    start: date, days: int
) -> None:
    last = working_days_add(calendar=CN, start=start, days=days)
    assert CN.is_working_day(last)
    assert len(working_days_between(calendar=CN, start=start, end=last)) == days


@given(start=covered_days, days=st.integers(min_value=1, max_value=15))
def test_a_longer_notice_never_ends_earlier(start: date, days: int) -> None:
    shorter = working_days_add(calendar=CN, start=start, days=days)
    assert working_days_add(calendar=CN, start=start, days=days + 1) > shorter


# --- the notice window --------------------------------------------------------------------


def test_a_notice_published_before_the_festival_closes_after_it() -> None:
    # Given a notice published on Friday 24 January 2025 at 10:00 in Quanzhou
    published = datetime(2025, 1, 24, 10, 0, tzinfo=SHANGHAI)
    # When the default 5 working days are counted
    opens, closes = notice_window(calendar=CN, published_at=published)
    # Then it opens at publication and closes at the last instant of 6 February
    assert opens == published
    assert closes == datetime(2025, 2, 6, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert closes.tzinfo == SHANGHAI


def test_a_notice_published_in_utc_is_counted_in_shanghai_days() -> None:
    # 17:00 UTC on Sunday 2 March 2025 is 01:00 on Monday 3 March in Shanghai
    opens, closes = notice_window(
        calendar=CN,
        published_at=datetime(2025, 3, 2, 17, 0, tzinfo=ZoneInfo("UTC")),
        working_days=3,
    )
    assert opens == datetime(2025, 3, 3, 1, 0, tzinfo=SHANGHAI)
    assert closes.date() == date(2025, 3, 5)


def test_a_naive_publication_time_is_refused() -> None:
    with pytest.raises(WotuError, match="time zone"):
        notice_window(calendar=CN, published_at=datetime(2025, 3, 3, 9, 0))


# --- the loader is strict -----------------------------------------------------------------

GOOD_HEAD = "years: [2030]\nholidays:\n  - {date: 2030-01-01, name_zh: 元旦, name_en: New Year}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_custom_calendar_file_loads(tmp_path: Path) -> None:
    text = GOOD_HEAD + "workdays:\n  - {date: 2030-01-05, name_zh: 调休, name_en: make-up}\n"
    calendar = calendar_load(path=write(tmp_path, text))
    assert calendar.years == (2030,)
    assert not calendar.is_working_day(date(2030, 1, 1))
    assert calendar.is_working_day(date(2030, 1, 5))  # a Saturday made a working day
    assert calendar.source == "test.yaml"


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        (GOOD_HEAD + "extra: 1\n", "未知的键 extra", "unknown key(s) extra"),
        ("holidays: []\n", "缺少键 years", "missing key(s) years"),
        (
            "years: [2030]\nholidays:\n  - {date: 2030-02-30, name_zh: x, name_en: x}\n",
            "holidays 第 1 条",
            "not a valid YYYY-MM-DD date",
        ),
        (
            "years: [2030]\nholidays:\n  - {date: 2030-1-1, name_zh: x, name_en: x}\n",
            "日期 '2030-1-1' 无效",
            "not in YYYY-MM-DD form",
        ),
        (
            GOOD_HEAD + "  - {date: 2030-01-02, name_zh: x, name_en: x, note: y}\n",
            "holidays 第 2 条",
            "unknown key(s) note",
        ),
        (
            GOOD_HEAD + "  - {date: 2030-01-02, name_zh: x}\n",
            "缺少键 name_en",
            "missing key(s) name_en",
        ),
        (GOOD_HEAD + "  - {date: 2030-01-01, name_zh: x, name_en: x}\n", "重复", "listed twice"),
        (  # YAML reads a bare "no" as false, not as a name
            GOOD_HEAD + "  - {date: 2030-01-02, name_zh: x, name_en: no}\n",
            "name_en 不能为空",
            "name_en must be non-empty text",
        ),
        (
            GOOD_HEAD + "  - {date: 2031-01-01, name_zh: x, name_en: x}\n",
            "2031 年不在 years 中",
            "2031 is not a covered year",
        ),
        (
            GOOD_HEAD + "workdays:\n  - {date: 2030-01-07, name_zh: x, name_en: x}\n",
            "必须是周六或周日",
            "must be a Saturday or Sunday",
        ),
        (
            "years: [2030]\nholidays:\n  - {date: 2030-01-05, name_zh: 假, name_en: rest}\n"
            "workdays:\n  - {date: 2030-01-05, name_zh: 班, name_en: work}\n",
            "同时列为节假日",
            "both as a holiday",
        ),
        (GOOD_HEAD.replace("[2030]", "[2030, 2031]"), "2031 年在 years 中但未列出", "lists no"),
        (GOOD_HEAD + "provisional_years: [2029]\n", "provisional_years", "not one of the"),
        ("years: []\nholidays: []\n", "年份", "must be a list of years"),
        ("- just a list\n", "顶层", "top level"),
        ("years: [2030\n", "YAML", "bad YAML"),
    ],
)
def test_a_bad_calendar_file_is_refused_naming_file_entry_and_why(
    tmp_path: Path, text: str, zh: str, en: str
) -> None:
    with pytest.raises(WotuError) as refused:
        calendar_load(path=write(tmp_path, text))
    assert refused.value.zh.startswith("test.yaml")
    assert zh in refused.value.zh
    assert en in refused.value.en


def test_a_missing_calendar_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WotuError, match="cannot read"):
        calendar_load(path=tmp_path / "nowhere.yaml")


def test_the_bundled_file_is_the_default() -> None:
    assert calendar_load(path=DEFAULT_PATH) == CN


def test_2025_had_248_working_days() -> None:
    days = working_days_between(calendar=CN, start=date(2025, 1, 1), end=date(2025, 12, 31))
    assert len(days) == 248
