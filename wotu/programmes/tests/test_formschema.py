"""Application forms and budgets: specs, answers of every type, all the errors, idempotence."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wotu.core.errors import WotuError
from wotu.programmes.attachments import AttachmentInfo
from wotu.programmes.budget import BudgetItem, budget_clean, budget_spec_validate
from wotu.programmes.formschema import (
    FIELD_TYPES,
    Choice,
    FieldError,
    FormSpec,
    form_answers_clean,
    form_spec_validate,
    money_parse,
)


def field(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "label_zh": f"{name}标签",
        "label_en": name.title(),
        **extra,
    }


FIELDS_OF_THE_QUANZHOU_CALL = [
    field("summary", "text", required=True, max_length=20),
    field("staff", "number", integer=True, min=1, max=500),
    field("ratio", "number", min="0", max="1.5"),
    field("amount", "money", required=True, max="5000000"),
    field("starts_on", "date", min="2025-01-01", max="2025-12-31"),
    field(
        "domain",
        "choice",
        required=True,
        choices=[
            {"value": "bio", "label_zh": "生物医药", "label_en": "Biomedicine"},
            {"value": "ict", "label_zh": "新一代信息技术", "label_en": "Next-generation ICT"},
        ],
    ),
    field(
        "partners",
        "choice",
        multiple=True,
        choices=[
            {"value": "cn", "label_zh": "内地", "label_en": "Mainland"},
            {"value": "hk", "label_zh": "香港", "label_en": "Hong Kong"},
            {"value": "mo", "label_zh": "澳门", "label_en": "Macao"},
        ],
    ),
    field("plan", "file", required=True),
    field("data", "file", kinds=["xlsx", "csv"]),
]
SPEC = form_spec_validate(spec=FIELDS_OF_THE_QUANZHOU_CALL)
PLAN = AttachmentInfo(kind="pdf", content_type="application/pdf", size=1000)
SHEET = AttachmentInfo(kind="png", content_type="image/png", size=1000)
COMPLETE = {
    "summary": "港口巡检机器人",
    "staff": 12,
    "ratio": "0.75",
    "amount": "1200000",
    "starts_on": "2025-03-01",
    "domain": "ict",
    "partners": ["hk"],
}


def clean(answers: dict[str, Any], *, final: bool = True, files: Any = None) -> Any:
    return form_answers_clean(
        spec=SPEC, answers=answers, files={"plan": PLAN} if files is None else files, final=final
    )


# -- the spec ------------------------------------------------------------------------------------


def test_a_valid_spec_becomes_typed_fields() -> None:
    assert isinstance(SPEC, FormSpec)
    assert [f.name for f in SPEC.fields][:3] == ["summary", "staff", "ratio"]
    staff, ratio, amount = SPEC.field("staff"), SPEC.field("ratio"), SPEC.field("amount")
    starts, domain, data = SPEC.field("starts_on"), SPEC.field("domain"), SPEC.field("data")
    assert staff is not None and staff.integer and staff.max_value == 500
    assert ratio is not None and ratio.max_value == Decimal("1.5")
    assert amount is not None and amount.max_value == Decimal("5000000.00")
    assert starts is not None and starts.min_date == dt.date(2025, 1, 1)
    assert domain is not None and domain.choices[0] == Choice("bio", "生物医药", "Biomedicine")
    assert data is not None and data.kinds == ("xlsx", "csv")
    assert SPEC.field("plan").kinds == ("pdf",)  # type: ignore[union-attr]
    assert SPEC.field("nope") is None


@pytest.mark.parametrize(
    ("spec", "zh", "en"),
    [
        ({"name": "x"}, "应为字段列表", "must be a list of fields"),
        (["summary"], "第 1 个字段：应为对象", "field 1: must be an object"),
        ([field("a", "txt")], "未知类型 'txt'", "unknown type 'txt'"),
        ([field("a", "text", maxlength=10)], "不认识的键 maxlength", "unknown key(s) maxlength"),
        ([field("a", "text", choices=[])], "不认识的键 choices", "unknown key(s) choices"),
        ([field("a", "text"), field("a", "date")], "第 2 个字段（a）：字段名重复", "field 2 ('a')"),
        ([field("Summary", "text")], "字段名 'Summary' 无效", "bad name 'Summary'"),
        ([field("项目", "text")], "字段名 '项目' 无效", "bad name '项目'"),
        ([field("a-b", "text")], "字段名 'a-b' 无效", "bad name 'a-b'"),
        ([field("1a", "text")], "无效", "bad name '1a'"),
        ([field("a" * 61, "text")], "最多 60 个字符", "at most 60 characters"),
        ([{"name": "a", "type": "text", "label_zh": "甲"}], "label_en", "label_en must be"),
        ([field("a", "text", label_zh=" ")], "label_zh 应为非空文本", "label_zh must be"),
        ([field("a", "text", required="yes")], "required 应为 true", "required must be true"),
        ([field("a", "text", max_length=0)], "max_length", "max_length must be"),
        ([field("a", "text", max_length=10.5)], "max_length", "max_length must be"),
        ([field("a", "choice")], "须有非空的 choices", "needs a non-empty list of choices"),
        ([field("a", "choice", choices=[])], "choices", "needs a non-empty list of choices"),
        (
            [field("a", "choice", choices=[{"value": "x", "label_zh": "甲", "label_en": "X"}] * 2)],
            "value 'x' 重复",
            "choice 2: value 'x' is repeated",
        ),
        (
            [field("a", "choice", choices=[{"value": "x", "label_zh": "甲"}])],
            "第 1 个选项：label_en",
            "choice 1: label_en must be",
        ),
        ([field("a", "choice", choices=[{"value": 1}])], "value 应为非空文本", "value must be"),
        ([field("a", "choice", multiple="no", choices=[])], "multiple", "multiple must be"),
        ([field("a", "number", min=5, max=1)], "min（5）大于 max（1）", "min (5) is greater"),
        ([field("a", "money", min="10", max="9.99")], "大于", "min (10.00) is greater"),
        ([field("a", "date", min="2025-02-01", max="2025-01-01")], "大于", "is greater than max"),
        ([field("a", "number", integer=True, min=0.5)], "min 应为整数", "a whole number"),
        ([field("a", "number", max="lots")], "max 应为数字", "max must be a number"),
        ([field("a", "money", max=-1)], "不小于 0", "an amount ≥ 0"),
        ([field("a", "money", max="1.001")], "最多两位小数", "at most 2 decimals"),
        ([field("a", "date", min="2025/01/01")], "YYYY-MM-DD", "a date as YYYY-MM-DD"),
        ([field("a", "file", kinds=["exe"])], "kinds 应为非空列表", "kinds must be"),
        ([field("a", "file", kinds=[])], "kinds", "kinds must be a non-empty list"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_field_and_the_problem(
    spec: Any, zh: str, en: str
) -> None:
    with pytest.raises(WotuError) as refusal:
        form_spec_validate(spec=spec)
    assert zh in refusal.value.zh
    assert en in refusal.value.en


def test_every_problem_of_a_spec_is_reported_at_once() -> None:
    with pytest.raises(WotuError) as refusal:
        form_spec_validate(spec=[field("A", "text"), field("b", "colour"), field("c", "choice")])
    for where in ("field 1 ('A')", "field 2 ('b')", "field 3 ('c')"):
        assert where in refusal.value.en
    assert refusal.value.zh.count("个字段") == 3


# -- answers, type by type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "cleaned"),
    [
        ("summary", "  港口巡检机器人 \r\n第二行 ", "港口巡检机器人 \n第二行"),
        ("summary", "x" * 20, "x" * 20),
        ("staff", 12, 12),
        ("staff", "12", 12),
        ("staff", "１２", 12),  # full-width digits from a Chinese input method
        ("staff", 12.0, 12),
        ("staff", "500", 500),
        ("ratio", "0.750", "0.75"),
        ("ratio", 0.1, "0.1"),
        ("ratio", Decimal("1.5"), "1.5"),
        ("ratio", "0", "0"),
        ("ratio", "-0.0", "0"),  # negative zero is zero, not below the minimum
        ("amount", "1200000", "1200000.00"),
        ("amount", "1,200,000.5", "1200000.50"),
        ("amount", Decimal("0.1"), "0.10"),
        ("amount", 5000000, "5000000.00"),
        ("amount", "0", "0.00"),
        ("starts_on", "2025-03-01", "2025-03-01"),
        ("starts_on", dt.date(2025, 12, 31), "2025-12-31"),
        ("domain", "bio", "bio"),
        ("partners", ["mo", "hk", "mo"], ["hk", "mo"]),
        ("partners", ("cn",), ["cn"]),
    ],
)
def test_each_type_cleans_to_one_json_safe_form(name: str, value: Any, cleaned: Any) -> None:
    result, errors = clean({**COMPLETE, name: value})
    assert errors == []
    assert result[name] == cleaned
    json.dumps(result)


@pytest.mark.parametrize(
    ("name", "value", "zh", "en"),
    [
        ("summary", 42, "应为文本", "must be text"),
        ("summary", "x" * 21, "有 21 个字符，最多 20 个", "has 21 characters; at most 20"),
        ("summary", "a\x00b", "NUL", "NUL character"),
        ("staff", "twelve", "应为数字，收到 'twelve'", "must be a number, got 'twelve'"),
        ("staff", True, "应为数字", "must be a number"),
        ("staff", [1], "应为数字", "must be a number"),
        ("staff", "3.5", "应为整数", "must be a whole number, got '3.5'"),
        ("staff", 0, "不能小于 1", "must be at least 1, got 0"),
        ("staff", 501, "不能大于 500", "must be at most 500, got 501"),
        ("staff", "1e3", "应为数字", "must be a number"),
        ("staff", float("nan"), "应为数字", "must be a number"),
        ("staff", float("inf"), "应为数字", "must be a number"),
        ("staff", 10**16, "10^15", "less than 10^15"),
        ("ratio", "0.1234567", "最多 6 位小数", "at most 6 decimals"),
        ("ratio", "-0.5", "不能小于 0", "must be at least 0"),
        ("ratio", "1.6", "不能大于 1.5", "must be at most 1.5, got 1.6"),
        ("amount", "1200000.005", "最多两位小数", "at most 2 decimals (fen)"),
        ("amount", "-5", "不能为负数", "must not be negative"),
        ("amount", "5000000.01", "不能大于 5,000,000.00", "at most 5,000,000.00, got 5,000,000.01"),
        ("amount", "¥100", "应为金额", "must be an amount such as 1234.50"),
        ("amount", "1,20,000", "应为金额", "must be an amount"),
        ("amount", 10**18, "金额过大", "too large"),
        ("starts_on", "2025/03/01", "YYYY-MM-DD", "must be a valid date as YYYY-MM-DD"),
        ("starts_on", "2025-02-30", "有效日期", "a valid date"),
        ("starts_on", 20250301, "YYYY-MM-DD", "a valid date"),
        ("starts_on", dt.datetime(2025, 3, 1, 9, 0), "YYYY-MM-DD", "a valid date"),
        ("starts_on", "2024-12-31", "不能小于 2025-01-01", "at least 2025-01-01, got 2024-12-31"),
        ("starts_on", "2026-01-01", "不能大于 2025-12-31", "at most 2025-12-31"),
        ("domain", "agri", "没有选项 'agri'", "has no choice 'agri'; choose from 'bio', 'ict'"),
        ("domain", ["bio"], "没有选项", "has no choice ['bio']"),
        ("partners", "hk", "应为选项值的列表", "must be a list of choice values"),
        ("partners", ["hk", "tw", "us"], "'tw', 'us'", "has no choice 'tw', 'us'"),
        ("partners", [1], "列表", "must be a list of choice values"),
        ("plan", "plan.pdf", "须上传文件", "takes an uploaded file, not a typed value"),
    ],
)
def test_each_type_refuses_bad_values_in_drafts_and_submissions(
    name: str, value: Any, zh: str, en: str
) -> None:
    for final in (False, True):
        result, errors = clean({**COMPLETE, name: value}, final=final)
        assert [(e.field, e.code) for e in errors] == [(name, "invalid")]
        assert zh in errors[0].message_zh
        assert en in errors[0].message_en
        assert errors[0].value is value
        assert name not in result


def test_a_file_must_be_of_a_kind_the_field_takes() -> None:
    _, errors = clean(COMPLETE, files={"plan": SHEET, "data": SHEET})
    assert [e.field for e in errors] == ["plan", "data"]
    assert errors[0].message_en == "'Plan' must be a PDF; the upload is a PNG image"
    assert "应为 Excel 工作簿（.xlsx）、CSV 文本文件" in errors[1].message_zh
    assert "an Excel workbook (.xlsx) or a CSV text file" in errors[1].message_en


def test_file_fields_are_answered_by_uploads_and_left_out_of_the_answers() -> None:
    result, errors = clean({**COMPLETE, "plan": ""}, files={"plan": PLAN})
    assert errors == []
    assert "plan" not in result


# -- drafts and submissions ----------------------------------------------------------------------


def test_a_draft_may_leave_required_fields_empty() -> None:
    result, errors = clean({"summary": "  ", "staff": None, "partners": []}, final=False, files={})
    assert (result, errors) == ({}, [])


def test_a_submission_names_every_missing_required_field() -> None:
    _, errors = clean({"summary": " "}, final=True, files={})
    assert [(e.field, e.code) for e in errors] == [
        ("summary", "required"),
        ("amount", "required"),
        ("domain", "required"),
        ("plan", "required"),
    ]
    assert errors[0].message_zh == "「summary标签」为必填项"
    assert errors[0].message_en == "'Summary' is required"


def test_a_complete_submission_has_no_errors() -> None:
    result, errors = clean(COMPLETE, final=True)
    assert errors == []
    assert result == {**COMPLETE, "amount": "1200000.00"}


def test_all_errors_are_reported_not_only_the_first() -> None:
    answers = {
        "summary": 1,
        "staff": "many",
        "amount": "-1",
        "starts_on": "soon",
        "domain": "agri",
        "colour": "blue",
    }
    _, errors = clean(answers, files={"plan": SHEET, "budget": PLAN})
    assert [(e.field, e.code) for e in errors] == [
        ("summary", "invalid"),
        ("staff", "invalid"),
        ("amount", "invalid"),
        ("starts_on", "invalid"),
        ("domain", "invalid"),
        ("plan", "invalid"),
        ("colour", "unknown"),
        ("budget", "unknown"),
    ]
    assert errors[-2].message_en == "the form has no field 'colour'"
    assert errors[-1].message_zh == "表单中没有文件字段 'budget'"


def test_an_upload_for_a_field_that_takes_no_file_is_refused() -> None:
    _, errors = clean(COMPLETE, files={"plan": PLAN, "summary": PLAN})
    assert [(e.field, e.code) for e in errors] == [("summary", "unknown")]


# -- budgets -------------------------------------------------------------------------------------

BUDGET_LINES = [
    {"code": "equipment", "label_zh": "设备费", "label_en": "Equipment"},
    {"code": "materials", "label_zh": "材料费", "label_en": "Materials"},
    {"code": "labour", "label_zh": "劳务费", "label_en": "Labour"},
]
BUDGET = budget_spec_validate(items=BUDGET_LINES)


def test_budget_lines_that_add_up_are_cleaned_in_the_programmes_order() -> None:
    lines: dict[str, str | Decimal] = {
        "labour": Decimal("200000"),
        "equipment": "800,000.5",
        "materials": "",
    }
    cleaned, errors = budget_clean(
        items=BUDGET, lines=lines, total=Decimal("1000000.50"), max_total=Decimal("1000000.50")
    )
    assert errors == []
    assert list(cleaned.items()) == [("equipment", "800000.50"), ("labour", "200000.00")]


def test_raw_budget_lines_from_the_programme_are_accepted_too() -> None:
    cleaned, errors = budget_clean(
        items=BUDGET_LINES, lines={"labour": "10"}, total="10", max_total=None
    )
    assert (cleaned, errors) == ({"labour": "10.00"}, [])


def test_a_budget_that_does_not_add_up_states_both_sums_and_the_difference() -> None:
    lines = {"equipment": "800000", "labour": "150000.25"}
    _, errors = budget_clean(items=BUDGET, lines=lines, total=Decimal("1000000"), max_total=None)
    assert [(e.field, e.code) for e in errors] == [("budget.total", "sum")]
    assert errors[0].message_zh == (
        "预算明细合计 950,000.25 元，与申请总额 1,000,000.00 元不符，相差 -49,999.75 元"
    )
    assert errors[0].message_en == (
        "the budget lines add up to CNY 950,000.25, not the requested total "
        "CNY 1,000,000.00: a difference of CNY -49,999.75"
    )


@pytest.mark.parametrize(
    ("lines", "total", "field", "code", "en"),
    [
        ({"equipment": "-1"}, "0", "budget.equipment", "invalid", "must not be negative"),
        ({"equipment": "1.001"}, "1", "budget.equipment", "invalid", "at most 2 decimals"),
        ({"equipment": "lots"}, "1", "budget.equipment", "invalid", "must be an amount"),
        ({"travel": "100"}, "100", "budget.travel", "unknown", "no budget line 'travel'"),
        ({"equipment": "100"}, "-100", "budget.total", "invalid", "must not be negative"),
        ({"equipment": "100"}, "abc", "budget.total", "invalid", "must be an amount"),
        (
            {"equipment": "6000000"},
            "6000000",
            "budget.total",
            "invalid",
            "maximum CNY 5,000,000.00",
        ),
    ],
)
def test_bad_budget_lines_and_totals_are_refused(
    lines: dict[str, str], total: str, field: str, code: str, en: str
) -> None:
    _, errors = budget_clean(items=BUDGET, lines=lines, total=total, max_total=Decimal("5000000"))
    assert [(e.field, e.code) for e in errors] == [(field, code)]
    assert en in errors[0].message_en


def test_an_over_the_maximum_total_that_does_not_add_up_gets_both_errors() -> None:
    _, errors = budget_clean(
        items=BUDGET, lines={"equipment": "1"}, total="200", max_total=Decimal("100")
    )
    assert [e.code for e in errors] == ["sum", "invalid"]


@pytest.mark.parametrize(
    ("items", "en"),
    [
        ({"code": "a"}, "must be a list"),
        ([{"code": "Equipment", "label_zh": "设备", "label_en": "E"}], "code must be a lowercase"),
        ([{"code": "a", "label_zh": "甲"}], "budget line 1 ('a'): label_en must be"),
        ([{"code": "a", "label_zh": "甲", "label_en": "A", "max": 1}], "must be an object"),
        ([BUDGET_LINES[0], BUDGET_LINES[0]], "budget line 2 ('equipment'): the code is used"),
    ],
)
def test_a_bad_budget_spec_is_refused(items: Any, en: str) -> None:
    with pytest.raises(WotuError) as refusal:
        budget_spec_validate(items=items)
    assert en in refusal.value.en
    assert refusal.value.zh


def test_a_budget_spec_becomes_typed_items() -> None:
    assert BUDGET[0] == BudgetItem("equipment", "设备费", "Equipment")


# -- invariants ----------------------------------------------------------------------------------

NUMERIC_TEXT = st.decimals(-(10**7), 10**7, places=4, allow_nan=False).map(str)
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**16), 10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    NUMERIC_TEXT,
    st.dates().map(dt.date.isoformat),
    st.dates(),
    st.text(max_size=30),
    st.lists(st.sampled_from(["cn", "hk", "mo", "bio", "x"]), max_size=4),
    st.sampled_from(["bio", "ict", "agri", "1,234.56", "１２", " 7 ", "2025-02-30"]),
)
ANSWERS = st.dictionaries(
    st.sampled_from([f.name for f in SPEC.fields if f.type != "file"] + ["colour"]),
    ANY_VALUE,
)


@settings(max_examples=400)
@given(answers=ANSWERS, final=st.booleans())
def test_cleaning_cleaned_answers_changes_nothing(answers: dict[str, Any], final: bool) -> None:
    once, _ = form_answers_clean(spec=SPEC, answers=answers, files={}, final=final)
    twice, errors = form_answers_clean(spec=SPEC, answers=once, files={}, final=final)
    assert twice == once
    assert all(e.code == "required" for e in errors)
    assert json.loads(json.dumps(once)) == once


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
RAW_FIELDS = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "B", 1]),
        "type": st.sampled_from([*FIELD_TYPES, "x"]) | JSON,
    },
    optional={
        key: JSON
        for key in [
            *("label_zh", "label_en", "required", "max_length", "integer", "min", "max"),
            *("choices", "multiple", "kinds", "colour"),
        ]
    },
)


@settings(max_examples=300)
@given(spec=st.lists(RAW_FIELDS | JSON, max_size=4) | JSON)
def test_any_json_spec_is_either_accepted_or_refused_never_a_crash(spec: Any) -> None:
    try:
        form = form_spec_validate(spec=spec)
    except WotuError as refusal:
        assert refusal.zh and refusal.en
        return
    assert len(form.fields) == len(spec)


def test_money_is_always_two_places_in_the_answers() -> None:
    result, _ = clean({**COMPLETE, "amount": 7})
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", result["amount"])


AMOUNTS = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)


@settings(max_examples=200)
@given(
    amounts=st.lists(AMOUNTS, min_size=3, max_size=3),
    off_by=st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False),
)
def test_a_budget_passes_exactly_when_its_lines_add_up(
    amounts: list[Decimal], off_by: Decimal
) -> None:
    lines = {item.code: amount for item, amount in zip(BUDGET, amounts, strict=True)}
    total = sum(amounts, Decimal(0)) + off_by
    cleaned, errors = budget_clean(items=BUDGET, lines=lines, total=total, max_total=None)
    if total < 0:
        assert [e.field for e in errors] == ["budget.total"]
        return
    assert (errors == []) == (off_by == 0)
    # And cleaning the cleaned lines changes nothing
    again, _ = budget_clean(items=BUDGET, lines=cleaned, total=total, max_total=None)
    assert again == cleaned
    assert sum(map(Decimal, cleaned.values()), Decimal(0)) == sum(amounts, Decimal(0))


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("1,234.5", Decimal("1234.50")),
        ("１２３４", Decimal("1234.00")),
        (Decimal("7"), Decimal("7.00")),
        (0, Decimal("0.00")),
        ("-1", None),
        ("1.001", None),
        ("1,2345", None),
        (None, None),
    ],
)
def test_amounts_are_read_the_same_way_everywhere(value: Any, amount: Decimal | None) -> None:
    parsed = money_parse(value=value)
    assert parsed == amount
    assert parsed is None or parsed.as_tuple().exponent == -2


def test_field_errors_carry_the_offending_value() -> None:
    _, errors = clean({**COMPLETE, "staff": "many"})
    assert errors == [
        FieldError(
            "staff",
            "many",
            "「staff标签」应为数字，收到 'many'",
            "'Staff' must be a number, got 'many'",
        )
    ]
