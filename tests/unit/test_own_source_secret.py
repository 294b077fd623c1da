"""A deployment that narrows named credential secrets (CredentialSecretPrefix) still lets a rule name its own source
secret: drift repair and rotation roll a rule with inline credentials out again through it."""

from __future__ import annotations

from typing import Any, cast

import pytest

from pullthrough.exceptions import InvalidRequest
from pullthrough.rollouts.checks import check_credential_secret
from pullthrough.rollouts.deps import Deps

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
NARROWED = Deps(store=cast(Any, None), credential_prefix="ecr-pullthroughcache/shared/")


def test_the_rules_own_source_secret_passes_a_narrowed_prefix() -> None:
    check_credential_secret(NARROWED, ARN + "ecr-pullthroughcache/_source/team/hub-AbC123", "team/hub")


@pytest.mark.parametrize(
    "name",
    [
        "ecr-pullthroughcache/_source/team/hub2-AbC123",  # another prefix's source secret
        "ecr-pullthroughcache/_source/team-AbC123",  # a prefix that is a head of the rule's
        "ecr-pullthroughcache/other-AbC123",  # outside the narrowed prefix
    ],
)
def test_any_other_secret_outside_the_narrowed_prefix_is_refused(name: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_credential_secret(NARROWED, ARN + name, "team/hub")
    assert refused.value.field == "credentialSecretArn"


def test_a_named_secret_under_the_narrowed_prefix_passes() -> None:
    check_credential_secret(NARROWED, ARN + "ecr-pullthroughcache/shared/hub-AbC123", "team/hub")
