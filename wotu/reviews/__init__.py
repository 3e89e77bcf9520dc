"""Reviews: experts, conflicts, assignment (more to come: scoring, stages, public notice)."""
