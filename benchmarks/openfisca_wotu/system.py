"""The tax-benefit system: the enterprise entity, the variables and the YAML parameters."""

from __future__ import annotations

from pathlib import Path

from openfisca_core.taxbenefitsystems import TaxBenefitSystem  # type: ignore[import-untyped,import-not-found,unused-ignore]

from benchmarks.openfisca_wotu.entities import entities
from benchmarks.openfisca_wotu.variables import hitech, inputs, qingdao

PARAMETERS = Path(__file__).resolve().parent / "parameters"


class WotuTaxBenefitSystem(TaxBenefitSystem):
    def __init__(self) -> None:
        super().__init__(entities)
        self.add_variables(*inputs.VARIABLES, *qingdao.VARIABLES, *hitech.VARIABLES)
        self.load_parameters(str(PARAMETERS))
