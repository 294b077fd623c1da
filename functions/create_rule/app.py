"""CreateRule: create the region's pull-through cache rule, update it in place, or replace it."""

from __future__ import annotations

from pullthrough.entrypoints import step_handler
from pullthrough.planning import ecr_for
from pullthrough.steps.rule import create_rule
from pullthrough.tasks import RegionTask, RuleChange


@step_handler("CreateRule")
def handler(task: RegionTask) -> RuleChange:
    return create_rule(task, ecr_for(task))
