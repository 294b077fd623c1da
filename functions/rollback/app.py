"""Rollback: put one region's template, rule and secret back exactly as its snapshot recorded them."""

from __future__ import annotations

import os

from pullthrough import aws
from pullthrough.adapters.store import RolloutStore
from pullthrough.entrypoints import step_handler
from pullthrough.planning import ecr_for, secrets_for
from pullthrough.regions import home_region
from pullthrough.steps.rollback import rollback_region
from pullthrough.tasks import RegionTask, RollbackResult


@step_handler("Rollback")
def handler(task: RegionTask) -> RollbackResult:
    return rollback_region(
        task,
        store=RolloutStore(aws.client("dynamodb", home_region()), os.environ["TABLE_NAME"]),
        # A rollback never runs in a plan (nothing was written): these are real clients, made only when needed.
        target=lambda: (ecr_for(task), secrets_for(task)),
    )
