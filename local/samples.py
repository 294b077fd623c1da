"""What the sample events in events/ need on the embedded stack, so that each works as-is against ``make local``.

Seeded in the home region: the source secrets the samples name (placeholder credentials, at the exact ARNs they
name), and the sample rollout the step samples belong to: a dry run of events/rule_request_docker_hub.json under
their rollout id (a dry run changes nothing in any region). The regional secret ARN the step samples name is pinned:
StoreSecret creates that secret (events/store_secret.json), then CreateRule finds it (events/create_rule.json).
The step samples work in the order the state machine runs them (see tests/e2e/test_sample_events.py).
"""

from __future__ import annotations

import json
import time

from local.emulator import secret_arns
from local.settings import HOME_REGION
from local.stack import EmbeddedStack
from local.template_reader import ROOT

EVENTS = ROOT / "events"
SAMPLE_ROLLOUT_ID = "r-0123456789abcdef0123456789abcdef"
SAMPLE_PLAN = EVENTS / "rule_request_docker_hub.json"
PLACEHOLDER_CREDENTIALS = {"username": "demo-user", "accessToken": "demo-placeholder-token"}
_SECRET = "arn:aws:secretsmanager:{region}:123456789012:secret:ecr-pullthroughcache/{name}"
SOURCE_SECRETS = (  # named by events/{store_secret,snapshot_region,...}.json and events/rule_requested.json
    _SECRET.format(region=HOME_REGION, name="_source/docker-hub-AbCdEf"),
    _SECRET.format(region=HOME_REGION, name="_source/github-AbCdEf"),
)
REGIONAL_SECRETS = (_SECRET.format(region="eu-west-1", name="docker-hub-XyZ123"),)  # events/create_rule.json


def seed(stack: EmbeddedStack, timeout: float = 60.0) -> list[str]:
    """Create what the samples need on a freshly started ``stack``; lines saying what was seeded."""
    for arn in REGIONAL_SECRETS:
        secret_arns.pin(arn)
    secrets = stack.client("secretsmanager")
    for arn in SOURCE_SECRETS:
        secrets.create_secret(
            Name=secret_arns.pin(arn),
            SecretString=json.dumps(PLACEHOLDER_CREDENTIALS),
            Description="Sample upstream credentials (placeholders) for the events in events/",
        )
    # The layer is importable once the stack runs (it puts it on sys.path, as Lambda mounts it). The service is
    # wired from the stack itself, not from a function's environment.
    from pullthrough.adapters.store import RolloutStore
    from pullthrough.adapters.workflow import Executions
    from pullthrough.models import RuleRequest
    from pullthrough.rollouts.deps import Deps
    from pullthrough.rollouts.plan import plan
    from pullthrough.rollouts.view import view

    (table,) = stack.table_names.values()
    deps = Deps(
        store=RolloutStore(stack.client("dynamodb"), table),
        executions=Executions(stack.client("stepfunctions"), stack.state_machine_arn),
        home_region=stack.region,
    )
    request = RuleRequest.model_validate(json.loads(SAMPLE_PLAN.read_text()))
    plan(deps, request, rollout_id=SAMPLE_ROLLOUT_ID)
    deadline = time.monotonic() + timeout
    while (shown := view(deps, SAMPLE_ROLLOUT_ID)) is not None and shown["status"] == "RUNNING":
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    status = shown["status"] if shown else "missing"
    return [
        "source secrets (placeholder credentials): "
        + ", ".join(arn.rsplit(":", 1)[1].rsplit("-", 1)[0] for arn in SOURCE_SECRETS),
        f"sample dry run {SAMPLE_ROLLOUT_ID} of {SAMPLE_PLAN.relative_to(ROOT)} ({status})",
    ]


def unseed() -> None:
    """Forget the pinned secret ARNs (moto keeps them across resets; the stack's own state goes with it)."""
    secret_arns.unpin_all()
