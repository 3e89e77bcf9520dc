"""An OpenFisca country package with Wotu's Qingdao and high-tech rules, for the benchmark.

    .venv/bin/pip install -e '.[bench]'     # openfisca-core, only for benchmarks
    .venv/bin/python -m benchmarks.openfisca_wotu.run --facts city.parquet --out DIR

The same rules as ``qingdao-wotu-2021`` (first certification, re-certification, listing pool R&D
growth, listing pool project, R&D growth top 200) and ``cn-hitech-2016`` (the conditions of
art. 11) written the way OpenFisca models are: one person entity (here an enterprise), yearly
variables, money as ``value_type = float`` (OpenFisca stores it as float32), parameters as
OpenFisca YAML under ``parameters/``, inputs set as whole numpy arrays.

What OpenFisca cannot say and this package works around, as an OpenFisca modeller would:
no nulls (a missing year is 0 with a ``has_row`` flag; "not assessed" is a ``*_given`` flag),
no "any earlier year" (a look-back of ``listing_pool.history_years``), no ranking primitive
(numpy's lexsort inside a formula), no rounding to the fen unless written out.

Nothing in ``wotu`` imports this package; importing ``system`` needs openfisca-core.
"""
