"""What each role may do. Views, API endpoints and the CLI ask here; they never decide alone.

| role            | registry list | organisation | yearly facts     | edit facts | import/export |
|-----------------|---------------|--------------|------------------|------------|---------------|
| bureau officer  | all           | all          | all              | all        | yes           |
| finance officer | all           | all          | all (read)       | no         | export        |
| expert          | no            | no           | no               | no         | no            |
| applicant       | own only      | own only     | own only         | own only   | no            |
| bank officer    | all (basic)   | all (basic)  | no               | no         | no            |
| superuser       | as bureau officer                                                 |
"""

from __future__ import annotations

from typing import Any

from wotu.core.models import Role, User


def _role(user: Any) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.BUREAU_OFFICER
    return str(user.role) or None


def can_browse_registry(user: User | Any) -> bool:
    return _role(user) in {Role.BUREAU_OFFICER, Role.FINANCE_OFFICER, Role.BANK_OFFICER,
                           Role.APPLICANT}  # fmt: skip


def sees_whole_registry(user: User | Any) -> bool:
    return _role(user) in {Role.BUREAU_OFFICER, Role.FINANCE_OFFICER, Role.BANK_OFFICER}


def can_view_facts(user: User | Any, organisation_id: int) -> bool:
    role = _role(user)
    if role in {Role.BUREAU_OFFICER, Role.FINANCE_OFFICER}:
        return True
    return role == Role.APPLICANT and user.organisation_id == organisation_id


def can_edit_facts(user: User | Any, organisation_id: int) -> bool:
    role = _role(user)
    if role == Role.BUREAU_OFFICER:
        return True
    return role == Role.APPLICANT and user.organisation_id == organisation_id


def can_import_facts(user: User | Any) -> bool:
    return _role(user) == Role.BUREAU_OFFICER


def can_export_facts(user: User | Any) -> bool:
    return _role(user) in {Role.BUREAU_OFFICER, Role.FINANCE_OFFICER}


# --- policies and their runs -------------------------------------------------------------------
#
# | role            | catalogue | evaluate rows | create runs | runs, results, totals, compare   |
# |-----------------|-----------|---------------|-------------|----------------------------------|
# | bureau officer  | yes       | yes           | yes         | all                              |
# | finance officer | yes       | no            | no          | all, read only (they pay them)   |
# | applicant       | yes       | no            | no          | own results and explanations in  |
# |                 |           |               |             | finished baseline runs; no totals|
# | expert          | yes       | no            | no          | no                               |
# | bank officer    | yes       | no            | no          | no                               |
#
# The catalogue (rules, parameters, legal references) is published law, so every signed-in role
# may read it. "Evaluate rows" computes over posted facts and saves nothing. Scenario runs are
# internal what-ifs: applicants never see them.


def can_view_policy_catalogue(user: User | Any) -> bool:
    return _role(user) is not None


def can_evaluate_policies(user: User | Any) -> bool:
    """Evaluate posted facts rows (nothing is saved): a bureau officer's what-if tool."""
    return _role(user) == Role.BUREAU_OFFICER


def can_create_runs(user: User | Any) -> bool:
    return _role(user) == Role.BUREAU_OFFICER


def can_view_runs(user: User | Any) -> bool:
    """Every run (baselines and scenarios), its totals, all its results and comparisons."""
    return _role(user) in {Role.BUREAU_OFFICER, Role.FINANCE_OFFICER}


def can_view_own_run_results(user: User | Any) -> bool:
    """An applicant: its own organisation's results and explanations in finished baseline runs."""
    return _role(user) == Role.APPLICANT and user.organisation_id is not None


# --- programmes, applications and reviews ------------------------------------------------------
#
# | role            | programmes & calls | applications                        | review          |
# |-----------------|--------------------|-------------------------------------|-----------------|
# | bureau officer  | manage             | all; formal check; stage decisions  | assign, close   |
# | finance officer | read               | all, read only                      | no              |
# | expert          | open calls (read)  | only assigned ones, in full only    | declare, score  |
# |                 |                    | after affirming "no conflict"       | own assignments |
# | applicant       | open calls (read)  | own organisation's only; never      | no              |
# |                 |                    | expert identities                   |                 |
# | bank officer    | open calls (read)  | no                                  | no              |
# | the public      | notices only       | no (published notice entries only)  | file objections |


def can_manage_programmes(user: User | Any) -> bool:
    return _role(user) == Role.BUREAU_OFFICER


def can_read_all_applications(user: User | Any) -> bool:
    return _role(user) in {Role.BUREAU_OFFICER, Role.FINANCE_OFFICER}


def can_apply(user: User | Any) -> bool:
    return _role(user) == Role.APPLICANT and getattr(user, "organisation_id", None) is not None


def is_expert(user: User | Any) -> bool:
    return _role(user) == Role.EXPERT


def can_resolve_objections(user: User | Any) -> bool:
    return _role(user) == Role.BUREAU_OFFICER
