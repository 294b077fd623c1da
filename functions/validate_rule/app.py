"""ValidateRule: ask ECR whether the region's rule works; fail with ECR's own failure text when it does not."""

from __future__ import annotations

from typing import Any

from pullthrough.entrypoints import step_handler
from pullthrough.planning import ecr_for
from pullthrough.steps.rule import validate_rule
from pullthrough.tasks import RegionTask


@step_handler("ValidateRule")
def handler(task: RegionTask) -> dict[str, Any]:
    return validate_rule(task, ecr_for(task, slow_reads=True))  # ECR waits on the upstream registry
