"""Rollback: put one region's template, rule and secret back exactly as its snapshot recorded them."""

from __future__ import annotations

from pullthrough.adapters.store import store_from_env
from pullthrough.entrypoints import step_handler
from pullthrough.planning import ecr_for, secrets_for
from pullthrough.regions import home_region
from pullthrough.steps.rollback import rollback_region
from pullthrough.tasks import RegionTask, RollbackResult


@step_handler("Rollback")
def handler(task: RegionTask) -> RollbackResult:
    return rollback_region(
        task,
        store=store_from_env(home_region()),
        # A rollback never runs in a plan (nothing was written): these are real clients, made only when needed.
        target=lambda: (ecr_for(task), secrets_for(task)),
    )
