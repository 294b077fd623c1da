"""Who may pull through the emulator's registry endpoint: identity and resource policies evaluated as IAM does for
one request (local.emulator.registry.permissions), without moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from local.emulator.registry import permissions
from local.emulator.registry.tokens import Principal

HOME, OTHER, REGION = "123456789012", "210987654321", "us-east-1"
REPO = f"arn:aws:ecr:{REGION}:{HOME}:repository/docker-hub/library/alpine"
IMPORT = "ecr:BatchImportUpstreamImage"


def _puller(
    account: str, statements: list[dict[str, Any]], org_id: str | None = None, root: bool = False
) -> permissions.Puller:
    arn = f"arn:aws:iam::{account}:root" if root else f"arn:aws:sts::{account}:assumed-role/puller/s"
    principal = Principal(arn, account, REGION, datetime.now(UTC) + timedelta(hours=1))
    identity = permissions.policy_statements({"Statement": statements}, "test", resource_policy=False)
    return permissions.Puller(principal, None if root else f"arn:aws:iam::{account}:role/puller", identity, org_id)


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_IMPORT = {"Effect": "Allow", "Action": IMPORT, "Resource": "arn:aws:ecr:*:*:repository/docker-hub/*"}


def test_in_its_own_account_an_identity_or_a_resource_allow_is_enough() -> None:
    by_identity = _puller(HOME, [ALLOW_IMPORT])
    nobody = _puller(HOME, [])
    registry_policy = _policy({**ALLOW_IMPORT, "Principal": {"AWS": f"arn:aws:iam::{HOME}:role/puller"}})

    assert permissions.allowed(by_identity, IMPORT, REPO, HOME, REGION, [None])
    assert not permissions.allowed(nobody, IMPORT, REPO, HOME, REGION, [None])
    assert permissions.allowed(nobody, IMPORT, REPO, HOME, REGION, [registry_policy])


def test_another_accounts_principal_needs_both_and_an_explicit_deny_wins() -> None:
    member = _puller(OTHER, [ALLOW_IMPORT])
    naming_it = _policy({**ALLOW_IMPORT, "Principal": {"AWS": OTHER}})
    denying = _policy({"Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Resource": "*"})

    assert not permissions.allowed(member, IMPORT, REPO, HOME, REGION, [None])
    assert not permissions.allowed(_puller(OTHER, []), IMPORT, REPO, HOME, REGION, [naming_it])
    assert permissions.allowed(member, IMPORT, REPO, HOME, REGION, [naming_it])
    assert not permissions.allowed(member, IMPORT, REPO, HOME, REGION, [naming_it, denying])


def test_a_resource_scoped_to_another_prefix_or_action_grants_nothing() -> None:
    elsewhere = _puller(HOME, [{**ALLOW_IMPORT, "Resource": f"arn:aws:ecr:{REGION}:{HOME}:repository/quay/*"}])
    other_action = _puller(HOME, [{**ALLOW_IMPORT, "Action": "ecr:BatchGetImage"}])

    assert not permissions.allowed(elsewhere, IMPORT, REPO, HOME, REGION, [None])
    assert not permissions.allowed(other_action, IMPORT, REPO, HOME, REGION, [None])


def test_the_principals_organization_is_a_known_condition_key_and_an_unknown_key_grants_nothing() -> None:
    in_org = {**ALLOW_IMPORT, "Principal": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}
    unknown = {**ALLOW_IMPORT, "Principal": "*", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}

    assert permissions.allowed(_puller(HOME, [], "o-abc"), IMPORT, REPO, HOME, REGION, [_policy(in_org)])
    assert not permissions.allowed(_puller(HOME, [], "o-xyz"), IMPORT, REPO, HOME, REGION, [_policy(in_org)])
    assert not permissions.allowed(_puller(HOME, [], "o-abc"), IMPORT, REPO, HOME, REGION, [_policy(unknown)])


def test_the_accounts_root_holds_every_action_in_its_own_account_only() -> None:
    root = _puller(HOME, [], root=True)

    assert permissions.allowed(root, IMPORT, REPO, HOME, REGION, [None])
    assert not permissions.allowed(_puller(OTHER, [], root=True), IMPORT, REPO, HOME, REGION, [None])
    assert permissions.denial(root, IMPORT, REPO) == (
        f"User: arn:aws:iam::{HOME}:root is not authorized to perform: {IMPORT} on resource: {REPO}"
    )


def test_a_repository_policy_without_a_resource_is_about_its_repository() -> None:
    repository_policy = _policy({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "ecr:BatchGetImage"})
    member = _puller(OTHER, [{"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}])

    assert permissions.allowed(member, "ecr:BatchGetImage", REPO, HOME, REGION, [repository_policy])
