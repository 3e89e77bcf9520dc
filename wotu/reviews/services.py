"""The review process's writes, in two modules (each under ~600 lines):

* :mod:`wotu.reviews.services_experts` — the expert pool, admission, conflicts of interest;
* :mod:`wotu.reviews.services_stages` — assignment per stage, the expert's declaration, scores,
  closing a stage.

Import from here; the split is an implementation detail.
"""

from __future__ import annotations

from wotu.reviews.services_experts import (
    conflict_dismiss,
    conflicts_detect,
    expert_admit,
    expert_create,
    expert_update,
)
from wotu.reviews.services_stages import (
    Closed,
    Declared,
    StageInfeasible,
    assignment_declare,
    instance_hash,
    score_submit,
    stage_assign,
    stage_close,
)

__all__ = [
    "Closed",
    "Declared",
    "StageInfeasible",
    "assignment_declare",
    "conflict_dismiss",
    "conflicts_detect",
    "expert_admit",
    "expert_create",
    "expert_update",
    "instance_hash",
    "score_submit",
    "stage_assign",
    "stage_close",
]
