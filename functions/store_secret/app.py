"""StoreSecret: copy upstream credentials from the home-region source secret into the target region's secret."""

from __future__ import annotations

from pullthrough.entrypoints import step_handler
from pullthrough.planning import secrets_for
from pullthrough.secret_names import arn_region
from pullthrough.steps.secret import store_secret
from pullthrough.tasks import RegionTask, SecretChange


@step_handler("StoreSecret")
def handler(task: RegionTask) -> SecretChange:
    source_region = arn_region(task.sourceSecretArn) if task.sourceSecretArn else task.region
    return store_secret(
        task,
        source=secrets_for(task, source_region, home=True),
        target=secrets_for(task),
    )
