"""StoreSecret: copy upstream credentials from the home-region source secret into the target region's secret."""

from __future__ import annotations

from pullthrough import aws
from pullthrough.adapters.secrets import SecretStore
from pullthrough.entrypoints import step_handler
from pullthrough.secret_names import arn_region
from pullthrough.steps.secret import store_secret
from pullthrough.tasks import RegionTask, SecretChange


@step_handler("StoreSecret")
def handler(task: RegionTask) -> SecretChange:
    source_region = arn_region(task.sourceSecretArn) if task.sourceSecretArn else task.region
    return store_secret(
        task,
        source=SecretStore(aws.client("secretsmanager", source_region)),
        target=SecretStore(aws.client("secretsmanager", task.region)),
    )
