"""Which KMS keys ECR can read a credential secret under: the AWS managed key aws/secretsmanager only."""

from __future__ import annotations

import pytest

from pullthrough.adapters.secrets import SecretFacts

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("kms_key_id", "customer_managed"),
    [
        (None, False),  # DescribeSecret leaves KmsKeyId out for the default key
        ("alias/aws/secretsmanager", False),
        ("arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager", False),
        (KEY, True),
        ("alias/team-key", True),
    ],
)
def test_only_the_aws_managed_key_passes(kms_key_id: str | None, customer_managed: bool) -> None:
    assert SecretFacts("ecr-pullthroughcache/x", kms_key_id, managed=False).customer_managed_key is customer_managed
