"""Rollback: put one region's template, rule and secret back to their state before the rollout."""

from __future__ import annotations

from pullthrough import aws
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore
from pullthrough.entrypoints import step_handler
from pullthrough.steps.rollback import rollback_region
from pullthrough.tasks import RegionTask, RollbackResult


@step_handler("Rollback")
def handler(task: RegionTask) -> RollbackResult:
    return rollback_region(
        task,
        ecr=EcrRegistry(aws.client("ecr", task.region)),
        secrets=SecretStore(aws.client("secretsmanager", task.region)),
    )
