"""`wotu evaluate`, `assess`, `explain` and `policies`: the contract's columns, hand-checked
values, every format, and refusals in Chinese and English without a traceback.

The hand-checked file (Qingdao plan, 2023)::

    甲 first certified 2023, deductible R&D 2,000,000 → 150,000 + 200,000 = 350,000.00
    乙 first certified 2023, R&D 4,000,000 (deductible defaults to R&D)
       → 150,000 + min(400,000, 300,000) = 450,000.00
    丙 re-certified 2023 (first 2020) → 100,000.00; and R&D 1,000,000 → 3,500,000, above size,
       industrial: rank 1 → min(20 % × 2,500,000, 500,000) = 500,000.00
    丁 nothing
    戊 first certified 2023, deductible R&D 1,234.45 → 150,000 + 123.445 → half-up 150,123.45
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wotu.organisations.models import Organisation
from wotu.policies.catalog import policy_get

FACTS = """\
uscc,name,year,district_code,registered_on,sector,above_designated_size,employees,st_staff,revenue,rd_expense,rd_deductible,hitech_cert_year,hitech_first_cert_year
913702120000000198,甲科技有限公司,2023,370202,2015-03-01,industrial,false,50,10,20000000,2000000,2000000,2023,2023
913702120000000273,乙科技有限公司,2023,370203,2016-03-01,service,false,50,10,30000000,4000000,,2023,2023
91370212000000035X,丙科技有限公司,2022,370212,2012-03-01,industrial,true,200,40,90000000,1000000,,2020,2020
91370212000000035X,丙科技有限公司,2023,370212,2012-03-01,industrial,true,200,40,95000000,3500000,,2023,2020
91370212000000043Q,丁科技有限公司,2023,370212,2019-03-01,other,false,10,2,1000000,10000,,,
91370212000000051K,戊科技有限公司,2023,370212,2018-03-01,service,false,20,5,5000000,1234.45,1234.45,2023,2023
"""
EXPECTED = [
    ("913702120000000198", "2023", "qingdao.hitech_first_cert", "350000.00"),
    ("913702120000000273", "2023", "qingdao.hitech_first_cert", "450000.00"),
    ("91370212000000035X", "2023", "qingdao.hitech_recert", "100000.00"),
    ("91370212000000035X", "2023", "qingdao.rd_growth_top200", "500000.00"),
    ("91370212000000051K", "2023", "qingdao.hitech_first_cert", "150123.45"),
]
QINGDAO = ["--policy", "qingdao-wotu-2021", "--year", "2023"]


@pytest.fixture
def facts(tmp_path: Path) -> Path:
    path = tmp_path / "facts.csv"
    path.write_text(FACTS, encoding="utf-8")
    return path


def wotu(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def refusal(*args: str) -> tuple[str, str]:
    """The CommandError message (exit 1, no traceback) and what was printed to stderr first."""
    stderr = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=StringIO(), stderr=stderr)
    return str(caught.value), stderr.getvalue()


# --- evaluate -----------------------------------------------------------------------------


def test_evaluate_writes_one_row_per_positive_award_in_the_contract_columns(
    facts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "awards.csv"

    stdout, _ = wotu("evaluate", *QINGDAO, "--facts", str(facts), "--out", str(out), "--quiet")

    written = pl.read_csv(out, infer_schema=False)
    assert written.columns[:4] == ["uscc", "year", "scheme", "amount_cny"]
    assert written.columns[4:] == ["basis", "name", "district_code"]
    assert [r[:4] for r in written.iter_rows()] == EXPECTED
    assert "wrote 5 awards (4 enterprises, CNY 1,550,123.45 in total)" in stdout


def test_every_award_row_carries_its_basis_with_the_legal_reference(
    facts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "awards.csv"
    wotu("evaluate", *QINGDAO, "--facts", str(facts), "--out", str(out), "--quiet")

    basis = dict(
        pl.read_csv(out, infer_schema=False)
        .filter(pl.col("uscc") == "913702120000000273")
        .select("scheme", "basis")
        .iter_rows()
    )["qingdao.hitech_first_cert"]

    assert basis.startswith("qingdao.hitech_first_cert=450000.00 ← 本年度首次认定为高新技术企业")
    assert "rd_deductible=4000000.00" in basis
    assert "hitech_first_cert.rd_cap=¥300,000.00 [青岛市高新技术企业培育" in basis


@pytest.mark.parametrize("suffix", ["xlsx", "parquet"])
def test_evaluate_writes_the_same_awards_to_excel_and_parquet(
    facts: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"awards.{suffix}"

    wotu("evaluate", *QINGDAO, "--facts", str(facts), "--out", str(out), "--quiet")

    if suffix == "xlsx":
        frame = pl.read_excel(out, engine="openpyxl", infer_schema_length=0)
        amounts = [f"{Decimal(a):.2f}" for a in frame.get_column("amount_cny")]
    else:
        frame = pl.read_parquet(out)
        assert frame.schema["amount_cny"] == pl.Decimal(20, 2)
        amounts = [f"{a:.2f}" for a in frame.get_column("amount_cny")]
    assert frame.columns[:4] == ["uscc", "year", "scheme", "amount_cny"]
    assert amounts == [row[3] for row in EXPECTED]


def test_evaluate_reads_an_excel_facts_file_too(facts: Path, tmp_path: Path) -> None:
    workbook = tmp_path / "facts.xlsx"
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in FACTS.splitlines():
        sheet.append(line.split(","))
    book.save(workbook)
    out = tmp_path / "awards.csv"

    wotu("evaluate", *QINGDAO, "--facts", str(workbook), "--out", str(out), "--quiet")

    assert [r[:4] for r in pl.read_csv(out, infer_schema=False).iter_rows()] == EXPECTED


def test_evaluate_shows_a_progress_bar_on_stderr_unless_quiet(facts: Path, tmp_path: Path) -> None:
    out = tmp_path / "awards.csv"

    _, loud = wotu("evaluate", *QINGDAO, "--facts", str(facts), "--out", str(out))
    _, quiet = wotu("evaluate", *QINGDAO, "--facts", str(facts), "--out", str(out), "--quiet")

    assert "reading facts" in loud and "writing" in loud and "step" in loud
    assert quiet == ""


def test_evaluate_without_facts_reads_the_registry(
    db: None, haina: Organisation, jiaodong: Organisation, tmp_path: Path
) -> None:
    out = tmp_path / "awards.csv"

    wotu("evaluate", *QINGDAO, "--out", str(out), "--quiet")

    written = pl.read_csv(out, infer_schema=False)
    assert set(written.get_column("uscc")) == {haina.uscc}
    assert dict(written.select("scheme", "amount_cny").iter_rows()) == {
        "qingdao.listing_pool_project": "200000.00",
        "qingdao.listing_pool_rd_growth": "220000.00",
        "qingdao.rd_growth_top200": "220000.00",
    }


def test_a_year_without_rows_writes_an_empty_file_and_says_so(facts: Path, tmp_path: Path) -> None:
    out = tmp_path / "awards.csv"

    _, stderr = wotu("evaluate", "--policy", "qingdao-wotu-2021", "--year", "2021", "--facts",
                     str(facts), "--out", str(out), "--quiet")  # fmt: skip

    assert "the facts have no rows for 2021" in stderr
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("uscc,year,scheme,amount_cny")


def test_evaluate_reads_a_loans_file_for_the_interest_subsidy(tmp_path: Path) -> None:
    # 5,000,000 × min(4.5 %, benchmark 3.80 % on 2022-01-01) × 365 / 360 = 192,638.89
    facts = tmp_path / "facts.csv"
    facts.write_text(
        "uscc,name,year,registered_on,employees,st_staff,revenue,rd_expense\n"
        "91370212MA3C000114,贷款企业,2022,2015-01-01,10,2,1000000,0\n",
        encoding="utf-8",
    )
    loans = tmp_path / "loans.csv"
    loans.write_text(
        "loan_id,uscc,bank,principal,annual_rate,start_date,end_date,linkage\n"
        "L1,91370212MA3C000114,青岛银行,5000000,4.5%,2022-01-01,2023-01-01,invest\n",
        encoding="utf-8")  # fmt: skip
    out = tmp_path / "awards.csv"

    wotu("evaluate", "--policy", "qingdao-wotu-2021", "--year", "2022", "--facts", str(facts),
         "--loans", str(loans), "--out", str(out), "--quiet")  # fmt: skip

    rows = [r[:4] for r in pl.read_csv(out, infer_schema=False).iter_rows()]
    assert rows == [("91370212MA3C000114", "2022", "qingdao.loan_interest_subsidy", "192638.89")]


def test_a_bad_loans_file_is_refused_cell_by_cell(tmp_path: Path, facts: Path) -> None:
    loans = tmp_path / "loans.csv"
    loans.write_text(
        "loan_id,uscc,bank,principal,annual_rate,start_date,end_date,linkage\n"
        "L1,91370212MA3C000114,青岛银行,lots,4.5%,2022-01-01,2023-01-01,invest\n",
        encoding="utf-8")  # fmt: skip

    message, printed = refusal("evaluate", *QINGDAO, "--facts", str(facts), "--loans",
                               str(loans), "--out", str(tmp_path / "x.csv"), "--quiet")  # fmt: skip

    assert "row 2, column principal, value lots" in printed
    assert "the loans table has 1 problem(s)" in message


# --- assess -------------------------------------------------------------------------------


def test_assess_writes_one_row_per_enterprise_with_the_policy_outputs_then_basis(
    facts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sme.csv"

    stdout, _ = wotu("assess", "--policy", "cn-tech-sme-2017", "--year", "2023", "--facts",
                     str(facts), "--out", str(out), "--quiet")  # fmt: skip

    written = pl.read_csv(out, infer_schema=False)
    outputs = list(policy_get("cn-tech-sme-2017").outputs)
    assert written.columns == ["uscc", "year", *outputs, "basis"]
    assert written.height == 5 and set(written.get_column("year")) == {"2023"}
    assert "assessment of 5 enterprises" in stdout


# --- explain ------------------------------------------------------------------------------


def test_explain_prints_the_branch_inputs_and_cited_parameters(facts: Path) -> None:
    stdout, _ = wotu("explain", *QINGDAO, "--facts", str(facts), "--uscc", "913702120000000273")

    assert stdout.startswith("qingdao-wotu-2021 · 2023 · 913702120000000273 乙科技有限公司")
    assert "- qingdao.hitech_first_cert = ¥450,000.00" in stdout
    assert "适用 / applies: 本年度首次认定为高新技术企业 / first certified as high-tech" in stdout
    assert "输入 / input rd_deductible = ¥4,000,000.00" in stdout
    assert "参数 / parameter hitech_first_cert.rd_cap = ¥300,000.00" in stdout


def test_explain_prints_json_when_asked(facts: Path) -> None:
    stdout, _ = wotu("explain", *QINGDAO, "--facts", str(facts), "--uscc", "91370212000000051K",
                     "--json")  # fmt: skip

    tree = json.loads(stdout)
    first = next(n for n in tree["outputs"] if n["rule"] == "qingdao.hitech_first_cert")
    assert first["value"] == "150123.45" and first["branch"]["index"] == 0


# --- the catalogue ------------------------------------------------------------------------


def test_policies_list_names_every_policy_with_its_kind() -> None:
    stdout, _ = wotu("policies", "list")

    assert "qingdao-wotu-2021  [evaluate]  2021–2024" in stdout
    assert "cn-tech-sme-2017  [assess]" in stdout


def test_policies_show_prints_rules_and_every_dated_parameter_with_its_reference() -> None:
    stdout, _ = wotu("policies", "show", "qingdao-wotu-2021")

    assert (
        " * qingdao.hitech_first_cert  高企首次认定奖励 / first high-tech certification award"
        in stdout
    )
    assert "公式版本 / formula versions: 始终 / always" in stdout
    assert "hitech_first_cert.rd_cap  研发费用部分奖励上限" in stdout
    assert "自 / since 2021-01-01: ¥300,000.00  — 青岛市高新技术企业培育" in stdout
    assert "公式哈希 / formulas hash:" in stdout


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (["assess", *QINGDAO], "是奖励类政策，请使用 wotu evaluate",
         "is an award policy: use `wotu evaluate`, not `wotu assess`"),
        (["evaluate", "--policy", "cn-tech-sme-2017", "--year", "2023"],
         "是评估类政策，请使用 wotu assess", "is an assessment policy: use `wotu assess`"),
        (["evaluate", "--policy", "qingdao-wotu-2021", "--year", "2019"],
         "适用于 2021–2024 年度，不适用于 2019 年度", "the years 2021–2024, not to 2019"),
        (["evaluate", "--policy", "nope", "--year", "2023"], "未知政策 nope", "unknown policy"),
    ],
)  # fmt: skip
def test_a_wrong_policy_kind_or_year_is_refused_in_both_languages(
    facts: Path, tmp_path: Path, args: list[str], zh: str, en: str
) -> None:
    out = tmp_path / "out.csv"

    message, _ = refusal(*args, "--facts", str(facts), "--out", str(out), "--quiet")

    assert zh in message and en in message
    assert not out.exists()


def test_a_bad_facts_file_lists_every_bad_cell_by_row_and_column(
    facts: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    text = facts.read_text(encoding="utf-8")
    bad.write_text(text.replace("丁科技有限公司,2023", "丁科技有限公司,abc").replace(
        "5000000,1234.45,", "5000000,12x,"), encoding="utf-8")  # fmt: skip

    message, printed = refusal("evaluate", *QINGDAO, "--facts", str(bad), "--out",
                               str(tmp_path / "x.csv"), "--quiet")  # fmt: skip

    assert printed.splitlines() == [
        "第 6 行，列 year，值 abc：无法读取为该列的类型",
        "row 6, column year, value abc: cannot be read as this column's type",
        "第 7 行，列 rd_expense，值 12x：无法读取为该列的类型",
        "row 7, column rd_expense, value 12x: cannot be read as this column's type",
    ]
    assert "2 个单元格无法读取" in message and "2 cells cannot be read" in message


@pytest.mark.parametrize(
    ("setup", "en"),
    [
        ("missing", "file not found"),
        ("suffix", "unsupported file type .txt"),
        ("columns", "required columns are missing: revenue"),
    ],
)
def test_an_unreadable_facts_file_is_refused(
    facts: Path, tmp_path: Path, setup: str, en: str
) -> None:
    out = tmp_path / "out.csv"
    if setup == "missing":
        path = tmp_path / "nowhere.csv"
    elif setup == "suffix":
        path, out = facts, tmp_path / "out.txt"
    else:
        path = tmp_path / "cut.csv"
        pl.read_csv(facts, infer_schema=False).drop("revenue").write_csv(path)

    message, _ = refusal("evaluate", *QINGDAO, "--facts", str(path), "--out", str(out))

    assert en in message


def test_explaining_an_unknown_enterprise_is_refused(facts: Path) -> None:
    message, _ = refusal("explain", *QINGDAO, "--facts", str(facts), "--uscc", "91370212XXXXXXXXXX")

    assert "没有统一社会信用代码为 91370212XXXXXXXXXX 的企业" in message
    assert "the facts have no enterprise with USCC 91370212XXXXXXXXXX in 2023" in message


def test_the_wotu_command_exits_non_zero_without_a_traceback(facts: Path, tmp_path: Path) -> None:
    wotu_bin = Path(sys.executable).with_name("wotu")
    env: dict[str, Any] = {**os.environ, "DJANGO_SETTINGS_MODULE": "wotu.settings"}

    done = subprocess.run(  # noqa: S603 - our own console script
        [str(wotu_bin), "evaluate", "--policy", "qingdao-wotu-2021", "--year", "2031",
         "--facts", str(facts), "--out", str(tmp_path / "x.csv")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "不适用于 2031 年度" in done.stderr and "not to 2031" in done.stderr
