"""RemoveRule: takes the prefix's template use, rule and secret (recoverably) out of a region no longer desired."""

from __future__ import annotations

from pullthrough.entrypoints import step_handler
from pullthrough.planning import ecr_for, secrets_for
from pullthrough.steps.removal import remove_rule
from pullthrough.tasks import RegionTask, RemovalResult


@step_handler("RemoveRule")
def handler(task: RegionTask) -> RemovalResult:
    return remove_rule(
        task,
        ecr=ecr_for(task),
        secrets=secrets_for(task),
    )
