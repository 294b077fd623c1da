"""Plan a rule request (dryRun): what an apply would do, from the same state machine with every write refused.

No lock, no stored credential, no change to the desired rule: only the plan's own rollout record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pullthrough.rollouts.checks import checked_targets
from pullthrough.rollouts.deps import PLAN, Deps, new_rollout_id
from pullthrough.rollouts.launch import launch
from pullthrough.rollouts.record import record_rollout
from pullthrough.rollouts.start import desired_of

if TYPE_CHECKING:
    from pullthrough.models import RuleRequest


def plan(
    deps: Deps, request: RuleRequest, *, request_id: str | None = None, rollout_id: str | None = None
) -> dict[str, Any]:
    """Start the plan of ``request``; the rollout (mode PLAN) as the API shows it. Raises InvalidRequest as a
    start would."""
    accounts = checked_targets(deps, request)
    desired = desired_of(request, request.credentialSecretArn, accounts)
    recorded = record_rollout(
        deps,
        rollout_id or new_rollout_id(),
        desired["rule"]["ecrRepositoryPrefix"],
        "APPLY",
        desired,
        request.rollout,
        mode=PLAN,
        inline_credentials=request.credentials is not None,
        request_id=request_id,
    )
    return launch(deps, recorded)
