"""ApplyTemplate: create or update the repository creation template for the rule's prefix."""

from __future__ import annotations

from pullthrough.entrypoints import step_handler
from pullthrough.planning import ecr_for
from pullthrough.steps.template import apply_template
from pullthrough.tasks import RegionTask, TemplateChange


@step_handler("ApplyTemplate")
def handler(task: RegionTask) -> TemplateChange:
    return apply_template(task, ecr_for(task))
