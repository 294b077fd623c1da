"""SnapshotRegion: record what a region holds for the prefix before the rollout's first write there."""

from __future__ import annotations

import os

from pullthrough import aws
from pullthrough.adapters.ecr import EcrRegistry
from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import RolloutStore
from pullthrough.entrypoints import step_handler
from pullthrough.steps.rollback import snapshot_region
from pullthrough.tasks import RegionTask
from pullthrough.wiring import home_region


@step_handler("SnapshotRegion")
def handler(task: RegionTask) -> dict[str, bool]:
    return snapshot_region(
        task,
        ecr=EcrRegistry(aws.client("ecr", task.region)),
        secrets=SecretStore(aws.client("secretsmanager", task.region)),
        store=RolloutStore(aws.client("dynamodb", home_region()), os.environ["TABLE_NAME"]),
    )
