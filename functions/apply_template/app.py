"""ApplyTemplate: create or update the repository creation template for the rule's prefix."""

from __future__ import annotations

from pullthrough import aws
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.entrypoints import step_handler
from pullthrough.steps.template import apply_template
from pullthrough.tasks import RegionTask, TemplateChange


@step_handler("ApplyTemplate")
def handler(task: RegionTask) -> TemplateChange:
    return apply_template(task, EcrRegistry(aws.client("ecr", task.region)))
