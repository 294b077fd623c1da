"""Failure modes only a real deployment would meet (issue 9), each pinned where moto can show it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from pullthrough import exceptions as ex
from pullthrough.adapters.errors import translated
from pullthrough.adapters.secrets import SecretStore

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "rollout.asl.json"


def test_scheduling_a_secret_already_scheduled_for_deletion_is_done_not_a_retried_error(moto_aws: None) -> None:
    """A retried FinishRollout of a DELETE meets its source secret already scheduled for deletion: Secrets Manager
    refuses a second DeleteSecret with InvalidRequestException, which used to surface as ConcurrentModification
    (retried, then the execution failed with the lock held)."""
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    arn = sm.create_secret(Name="ecr-pullthroughcache/_source/twice", SecretString="{}")["ARN"]
    secrets = SecretStore(sm)
    assert secrets.schedule_deletion(arn) is True

    assert secrets.schedule_deletion(arn) is True
    assert secrets.is_scheduled_for_deletion(arn)


def _client_error(code: str, operation: str) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "not authorized"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return ClientError(response, operation)


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied"])
def test_access_denied_outside_secrets_manager_is_not_called_a_secret_problem(code: str) -> None:
    with pytest.raises(ex.AccessDenied) as denied, translated({}, "CreatePullThroughCacheRule"):
        raise _client_error(code, "CreatePullThroughCacheRule")
    assert not isinstance(denied.value, ex.SecretAccessDenied)
    assert type(denied.value).__name__ == "AccessDenied"  # the ASL error name


def test_access_denied_by_secrets_manager_stays_a_secret_problem(moto_aws: None) -> None:
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    store = SecretStore(sm)
    sm.meta.events.register(
        "before-call.secrets-manager.GetSecretValue",
        lambda **_: (_ for _ in ()).throw(_client_error("AccessDeniedException", "GetSecretValue")),
    )
    with pytest.raises(ex.SecretAccessDenied):
        store.read("ecr-pullthroughcache/x")


def test_the_state_machine_names_no_partition_of_its_own() -> None:
    """aws-cn and aws-us-gov deployments: every ARN the ASL writes comes through a DefinitionSubstitution."""
    text = ASL.read_text()
    assert not re.findall(r'"arn:aws[a-z-]*:', text), "hard-coded partition in the ASL"
    resources = [s for s in re.findall(r'"Resource": "([^"]+)"', text)]
    assert resources and all(r.startswith(("${", "arn:${Partition}:")) for r in resources), resources
    json.loads(text.replace("${Partition}", "aws"))
