"""One person entity: the enterprise (an enterprise-year is the entity in a yearly period)."""

from __future__ import annotations

from openfisca_core.entities import build_entity  # type: ignore[import-untyped,import-not-found,unused-ignore]

Enterprise = build_entity(
    key="enterprise",
    plural="enterprises",
    label="企业 / enterprise",
    doc="An enterprise with a USCC; its facts are yearly variables.",
    is_person=True,
)

entities = [Enterprise]
