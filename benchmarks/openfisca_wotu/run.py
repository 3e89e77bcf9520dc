"""OpenFisca-core over the synthetic city: one contender of ``benchmarks/policies_engine.py``.

    .venv/bin/python -m benchmarks.openfisca_wotu.run --facts city.parquet --out DIR \
        [--year 2023] [--trace-sample 2000] [--situation-sample 20]

Reads the Parquet with Polars (like the other contenders), aligns every year the rules read to
the enterprises of the year (sorted by USCC), sets them as whole numpy arrays on a simulation
(``Simulation.set_input``), calculates the five Qingdao awards and the high-tech conditions,
and writes the awards (positive amounts) and the conditions to Parquet. Prints one JSON line:
timings, totals per scheme — the float32 amounts rounded to the fen one by one and summed, and
numpy's float32 sum — and the cost of explanations:

- ``trace``: the same simulation with ``simulation.trace = True`` (OpenFisca's FullTracer keeps
  every intermediate array), then a per-entity loop over a sample of enterprises that writes
  each one's computation log (every node of the trace: variable, period, that enterprise's
  value, and the parameters the formula read), extrapolated to every enterprise of the year;
- ``situation``: what OpenFisca's web API ``/trace`` does for one situation — a one-enterprise
  simulation built from a JSON-like dict, traced and serialised — for a few enterprises,
  extrapolated the same way (ranks are meaningless in a one-enterprise simulation; the cost is
  what is measured).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import numpy
import polars as pl
from openfisca_core.simulations import SimulationBuilder  # type: ignore[import-untyped,import-not-found,unused-ignore]

from benchmarks.openfisca_wotu.system import WotuTaxBenefitSystem
from benchmarks.openfisca_wotu.variables.hitech import CONDITIONS
from benchmarks.openfisca_wotu.variables.inputs import Sector
from benchmarks.openfisca_wotu.variables.qingdao import AWARDS

MONEY = ("revenue", "total_costs", "rd_expense", "rd_expense_domestic", "rd_deductible",
         "hitech_revenue")  # fmt: skip
THIS_YEAR = (*MONEY, "employees", "st_staff", "ip_class1", "ip_class2", "hitech_cert_year",
             "hitech_first_cert_year", "in_listing_pool", "above_designated_size", "incident",
             "registered_on", "sector")  # fmt: skip
EARLIER = ("revenue", "rd_expense", "rd_expense_domestic", "rd_deductible")
OUTPUTS = (*AWARDS, *CONDITIONS, "hitech_conditions_met")
SCHEMES = {name: "qingdao." + name.removeprefix("qingdao_") for name in AWARDS}
Inputs = dict[tuple[str, int], numpy.ndarray]


def facts_read(path: Path) -> pl.DataFrame:
    raw = pl.read_parquet(path)
    return raw.with_columns(
        pl.col("rd_expense_domestic").fill_null(pl.col("rd_expense")),
        pl.col("rd_deductible").fill_null(pl.col("rd_expense")),
    ).with_columns(
        pl.col("hitech_revenue").is_not_null().alias("hitech_revenue_given"),
        *[pl.col(name).cast(pl.Float64).fill_null(0.0) for name in MONEY],
    )


def arrays(facts: pl.DataFrame, year: int, history_years: int) -> tuple[numpy.ndarray, Inputs]:
    """The enterprises of ``year`` sorted by USCC, and every input array the rules read: this
    year's columns, the two years before for the history, and the listing pool back to
    ``history_years``; a year without a row is 0 / False with ``has_row`` False."""
    population = facts.filter(pl.col("year") == year).select("uscc").sort("uscc")
    ids = population.get_column("uscc").to_numpy()
    inputs: Inputs = {}
    for back in range(history_years + 1):
        at = year - back
        columns = THIS_YEAR if back == 0 else EARLIER if back <= 2 else ()
        extra = [name for name in columns if name != "in_listing_pool"]
        rows = facts.filter(pl.col("year") == at).select(
            "uscc", "in_listing_pool", "hitech_revenue_given", *extra
        )
        if rows.height == 0:
            continue
        aligned = population.join(
            rows.with_columns(pl.lit(True).alias("has_row")),
            on="uscc",
            how="left",
            maintain_order="left",
        )
        inputs[("has_row", at)] = aligned.get_column("has_row").fill_null(False).to_numpy()
        inputs[("in_listing_pool", at)] = (
            aligned.get_column("in_listing_pool").fill_null(False).to_numpy()
        )
        for name in extra:
            series = aligned.get_column(name)
            if name in MONEY:
                inputs[(name, at)] = series.fill_null(0.0).to_numpy()
            elif name == "registered_on":
                end = dt.date(year, 12, 31)
                inputs[(name, at)] = series.fill_null(end).to_numpy().astype("datetime64[D]")
            elif name == "sector":
                inputs[(name, at)] = Sector.encode(series.fill_null("other").to_numpy().astype(str))
            elif series.dtype == pl.Boolean:
                inputs[(name, at)] = series.fill_null(False).to_numpy()
            else:
                inputs[(name, at)] = series.fill_null(0).to_numpy()
        if back == 0:
            given = aligned.get_column("hitech_revenue_given").fill_null(False)
            inputs[("hitech_revenue_given", at)] = given.to_numpy()
    return ids, inputs


def simulation_build(system: Any, ids: numpy.ndarray, inputs: Inputs, *, trace: bool) -> Any:
    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("enterprise", ids)
    simulation = builder.build(system)
    simulation.trace = trace
    for (name, at), values in inputs.items():
        simulation.set_input(name, str(at), values)
    return simulation


def calculate(simulation: Any, year: int) -> dict[str, numpy.ndarray]:
    return {name: simulation.calculate(name, str(year)) for name in OUTPUTS}


def write(out: Path, ids: numpy.ndarray, year: int, results: dict[str, numpy.ndarray]) -> int:
    parts = []
    for name in AWARDS:
        amount = results[name]
        keep = amount > 0
        parts.append(
            pl.DataFrame(
                {
                    "uscc": ids[keep],
                    "year": numpy.full(int(keep.sum()), year, dtype=numpy.int64),
                    "scheme": numpy.full(int(keep.sum()), SCHEMES[name]),
                    "amount_cny": amount[keep],
                }
            )
        )
    awards = pl.concat(parts).sort("uscc", "scheme")
    awards.write_parquet(out / "qingdao-wotu-2021.parquet", compression="zstd", statistics=False)
    conditions = pl.DataFrame(
        {
            "uscc": ids,
            "year": numpy.full(len(ids), year, dtype=numpy.int64),
            **{name: results[name] for name in (*CONDITIONS, "hitech_conditions_met")},
        }
    )
    conditions.write_parquet(out / "cn-hitech-2016.parquet", compression="zstd", statistics=False)
    return awards.height


def totals(results: dict[str, numpy.ndarray]) -> dict[str, dict[str, int]]:
    """Per scheme: each float32 amount rounded half-up to the fen and summed (what a payment
    file would hold), and numpy's float32 sum of the array (what ``.sum()`` reports)."""
    out = {}
    for name in AWARDS:
        amount = results[name]
        positive = amount[amount > 0]
        fen = numpy.floor(positive.astype(numpy.float64) * 100 + 0.5).astype(numpy.int64)
        out[SCHEMES[name]] = {
            "fen": int(fen.sum()),
            "float32_sum_fen": round(float(positive.sum(dtype=numpy.float32)) * 100),
            "awards": len(positive),
        }
    return out


# ---- explanations ------------------------------------------------------------------------------


def _value_text(value: Any) -> str:
    return str(value.decode_to_str() if hasattr(value, "decode_to_str") else value)


def entity_log(nodes: list[Any], index: int) -> list[str]:
    """One enterprise's computation log from a vectorised trace: every node with its value for
    this enterprise, and the parameters its formula read."""
    lines = []
    for node in nodes:
        value = node.value
        shown = _value_text(value[index : index + 1][0]) if value is not None else "?"
        lines.append(f"{node.name}<{node.period}> = {shown}")
        lines.extend(f"  {p.name}<{p.period}> = {p.value}" for p in node.parameters)
    return lines


def trace_cost(
    system: Any, ids: numpy.ndarray, inputs: Inputs, year: int, sample: int
) -> dict[str, Any]:
    start = time.perf_counter()
    simulation = simulation_build(system, ids, inputs, trace=True)
    calculate(simulation, year)
    traced = time.perf_counter() - start
    mark = time.perf_counter()
    nodes = list(simulation.tracer.browse_trace())
    walk = time.perf_counter() - mark
    picks = numpy.linspace(0, len(ids) - 1, num=min(sample, len(ids))).astype(int)
    mark = time.perf_counter()
    lines = 0
    for index in picks:
        lines += len(entity_log(nodes, int(index)))
    loop = time.perf_counter() - mark
    per_entity = loop / len(picks)
    return {
        "traced_run": traced,
        "nodes": len(nodes),
        "walk": walk,
        "sample": len(picks),
        "sample_seconds": loop,
        "per_entity": per_entity,
        "lines_per_entity": lines / len(picks),
        "entities": len(ids),
        "all_rows": traced + walk + per_entity * len(ids),
    }


def situation(ids: numpy.ndarray, inputs: Inputs, index: int) -> dict[str, Any]:
    """One enterprise as OpenFisca's web API takes it (a JSON-like situation)."""
    variables: dict[str, dict[str, Any]] = {}
    for (name, at), values in inputs.items():
        value = values[index]
        if name == "sector":
            value = Sector.encode(values[index : index + 1]).decode_to_str()[0]
        elif name == "registered_on":
            value = str(value)
        else:
            value = value.item()
        variables.setdefault(name, {})[str(at)] = value
    return {"enterprises": {str(ids[index]): variables}}


def situation_cost(
    system: Any, ids: numpy.ndarray, inputs: Inputs, year: int, sample: int
) -> dict[str, Any]:
    picks = numpy.linspace(0, len(ids) - 1, num=min(sample, len(ids))).astype(int)
    cases = [situation(ids, inputs, int(index)) for index in picks]
    start = time.perf_counter()
    for case in cases:
        simulation = SimulationBuilder().build_from_entities(system, case)
        simulation.trace = True
        calculate(simulation, year)
        json.dumps(simulation.tracer.get_serialized_flat_trace(), default=str)
    seconds = time.perf_counter() - start
    per_entity = seconds / len(cases)
    return {
        "sample": len(cases),
        "sample_seconds": seconds,
        "per_entity": per_entity,
        "entities": len(ids),
        "all_rows": per_entity * len(ids),
    }


# ---- the pipeline ------------------------------------------------------------------------------


def run(
    facts_path: Path, out: Path, year: int, *, trace_sample: int, situation_sample: int
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    phases: dict[str, float] = {}
    start = time.perf_counter()
    mark = start
    system = WotuTaxBenefitSystem()
    phases["system load"] = time.perf_counter() - mark
    mark = time.perf_counter()
    facts = facts_read(facts_path)
    phases["read"] = time.perf_counter() - mark
    mark = time.perf_counter()
    history = int(system.parameters(str(year)).qingdao.listing_pool.history_years)
    ids, inputs = arrays(facts, year, history)
    phases["arrays"] = time.perf_counter() - mark
    mark = time.perf_counter()
    simulation = simulation_build(system, ids, inputs, trace=False)
    phases["simulation"] = time.perf_counter() - mark
    mark = time.perf_counter()
    results = calculate(simulation, year)
    phases["calculate"] = time.perf_counter() - mark
    mark = time.perf_counter()
    award_rows = write(out, ids, year, results)
    phases["write"] = time.perf_counter() - mark
    pipeline = time.perf_counter() - start
    report: dict[str, Any] = {
        "contender": "openfisca",
        "rows": facts.height,
        "year_rows": len(ids),
        "phases": phases,
        "pipeline": pipeline,
        "awards": totals(results),
        "award_rows": award_rows,
        "conditions_met": int(results["hitech_conditions_met"].sum()),
        "dtypes": {name: str(results[name].dtype) for name in AWARDS[:1]},
    }
    del simulation, results
    if trace_sample:
        report["trace"] = trace_cost(system, ids, inputs, year, trace_sample)
    if situation_sample:
        report["situation"] = situation_cost(system, ids, inputs, year, situation_sample)
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--trace-sample", type=int, default=0)
    parser.add_argument("--situation-sample", type=int, default=0)
    options = parser.parse_args()
    report = run(
        options.facts,
        options.out,
        options.year,
        trace_sample=options.trace_sample,
        situation_sample=options.situation_sample,
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
