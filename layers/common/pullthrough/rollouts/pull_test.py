"""Pull test (POST /pull-tests): the SmokePull step run now in every target that holds a prefix's rule, each
target's digest or the registry's answer. Nothing is written but what a pull does (the cached image)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pullthrough.adapters.functions import StepFunction
from pullthrough.desired import held_targets
from pullthrough.rollouts.deps import Deps, UnknownRule

AT_ONCE = 10  # targets pulled at once (the API answers within API Gateway's 29 s)


def pull_test(deps: Deps, step: StepFunction, prefix: str, image: str) -> dict[str, Any]:
    """Pull ``image`` through the rule for ``prefix`` in each target it is deployed in; UnknownRule when none."""
    item = deps.store.get_rule(prefix)
    if item is None:
        raise UnknownRule(f"no rule for prefix {prefix!r}", field="prefix")
    home = deps.home_account
    run = f"pt-{uuid.uuid4().hex}"  # the session name in other accounts, as a rollout id is

    def one(target: tuple[str, str]) -> dict[str, Any]:
        account, region = target
        task = {"rolloutId": run, "region": region, "rule": item["rule"], "smokePull": {"image": image}}
        result, error = step.invoke(task | ({} if account == home else {"account": account}))
        return {"account": account, "region": region, "pull": (result or {}).get("pull"), "error": error}

    targets = sorted(held_targets(item, home))
    with ThreadPoolExecutor(max_workers=max(1, min(AT_ONCE, len(targets)))) as pool:
        results = list(pool.map(one, targets))
    return {"prefix": prefix, "image": image, "targets": results}
