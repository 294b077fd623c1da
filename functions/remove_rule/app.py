"""RemoveRule: a DELETE rollout's step; removes the region's template, rule and secret (recoverably)."""

from __future__ import annotations

from pullthrough import aws
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore
from pullthrough.entrypoints import step_handler
from pullthrough.steps.removal import remove_rule
from pullthrough.tasks import RegionTask, RemovalResult


@step_handler("RemoveRule")
def handler(task: RegionTask) -> RemovalResult:
    return remove_rule(
        task,
        ecr=EcrRegistry(aws.client("ecr", task.region)),
        secrets=SecretStore(aws.client("secretsmanager", task.region)),
    )
