"""Delete a rule (DELETE /rules/{prefix}): its rule, template and secret removed from every target it was ever
written to, all or nothing."""

from __future__ import annotations

from typing import Any

from pullthrough.rollouts.deps import PLAN, Deps, UnknownRule, new_rollout_id
from pullthrough.rollouts.launch import launch, locked_launch
from pullthrough.rollouts.record import record_rollout


def start_delete(deps: Deps, prefix: str, *, plan: bool = False) -> dict[str, Any]:
    """Start removing the prefix everywhere (``plan``: a dry run of it); UnknownRule when there is no such rule."""
    desired = deps.store.get_rule(prefix)
    if desired is None:
        raise UnknownRule(f"no rule with prefix {prefix!r}", field="prefix")
    target = {k: desired.get(k) for k in ("rule", "regions")} | {"creationTemplate": None, "sourceSecretArn": None}
    if plan:
        return launch(deps, record_rollout(deps, new_rollout_id(), prefix, "DELETE", target, None, mode=PLAN))
    return locked_launch(deps, new_rollout_id(), prefix, "DELETE", target)
