"""The policy catalogue: each policy is a module with a ``build()`` that returns a Policy,
and its parameters in a YAML file beside it."""

from __future__ import annotations

import importlib
from functools import cache

from wotu.policies.engine import Policy, PolicyError

CATALOGUE: dict[str, str] = {
    "qingdao-wotu-2021": "wotu.policies.catalog.qingdao.wotu_2021",
    "cn-tech-sme-2017": "wotu.policies.catalog.cn.tech_sme_2017",
    "cn-hitech-2016": "wotu.policies.catalog.cn.hitech_2016",
    "cn-rd-super-deduction": "wotu.policies.catalog.cn.rd_super_deduction",
}


def policy_ids() -> list[str]:
    return sorted(CATALOGUE)


@cache
def policy_get(policy_id: str) -> Policy:
    """The policy with this id. Raises PolicyError listing the known ids."""
    module_name = CATALOGUE.get(policy_id)
    if module_name is None:
        known = ", ".join(policy_ids())
        raise PolicyError(
            f"未知政策 {policy_id}（可选：{known}）", f"unknown policy {policy_id} (known: {known})"
        )
    policy: Policy = importlib.import_module(module_name).build()
    return policy
