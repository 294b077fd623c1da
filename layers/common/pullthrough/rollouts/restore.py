"""After a rollback (or a start that could not start): the previous desired rule and source secret are the truth."""

from __future__ import annotations

from typing import Any

from pullthrough.desired import Target, by_account, held_targets, previous_rule
from pullthrough.rollouts.deps import Deps, now_iso
from pullthrough.steps.secret import restore_secret
from pullthrough.tasks import SecretChange


def restore_desired(
    deps: Deps, prefix: str, rollout: dict[str, Any], still_held: list[Target] | None = None, ended: str | None = None
) -> None:
    """Put back the desired rule and source secret ``rollout`` replaced; the rule still names this attempt as its
    last rollout (``ended``: how it ended), failed or not.

    Targets whose rollback failed may still hold anything: they stay tracked so the next rollout converges them.
    """
    home = deps.home_account
    previous = previous_rule(rollout)
    if previous:
        deps.store.put_rule(prefix, {k: v for k, v in previous.items() if k not in ("pk", "sk")})
    elif not still_held:
        deps.store.delete_rule(prefix)
    if still_held:
        current = deps.store.get_rule(prefix) or {"sk": prefix}
        held = held_targets(current, home)
        for target in still_held:
            held.setdefault(target, {"rolloutId": rollout.get("rolloutId")})
        grouped = by_account(held)  # (with no previous rule, the rollout's own rule item stays to track them)
        before = current.get("deployedElsewhere") or {}
        deps.store.save_deployed(prefix, grouped.pop(home, {}), grouped, before)
    if ended is not None:
        deps.store.update_rule(
            prefix, lastRolloutId=rollout.get("rolloutId"), lastRolloutStatus=ended, lastRolloutAt=now_iso()
        )
    change = rollout.get("sourceSecretChange")
    if change and deps.home_secrets is not None:
        restore_secret(SecretChange.loads(change, "sourceSecretChange"), deps.home_secrets)
