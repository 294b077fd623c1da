"""Builds the services from the function's environment (read per call, never at import time)."""

from __future__ import annotations

import os

from pullthrough import aws
from pullthrough.adapters.secrets import SecretStore
from pullthrough.adapters.store import RolloutStore
from pullthrough.adapters.workflow import EventBus, Executions
from pullthrough.rollouts import Rollouts


def home_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def rollouts_from_env() -> Rollouts:
    """The rollout service wired to the table, state machine, home-region secrets and bus of this deployment."""
    region = home_region()
    return Rollouts(
        store=RolloutStore(aws.client("dynamodb", region), os.environ["TABLE_NAME"]),
        executions=Executions(aws.client("stepfunctions", region), os.environ["STATE_MACHINE_ARN"]),
        home_secrets=SecretStore(aws.client("secretsmanager", region)),
        events=EventBus(aws.client("events", region), os.environ.get("EVENT_BUS_NAME", "default")),
    )
