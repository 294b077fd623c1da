"""A rule request's checks before anything is written: the roles it names, its credential secret, its targets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pullthrough.exceptions import InvalidRequest
from pullthrough.rollouts.deps import Deps
from pullthrough.secret_names import SECRET_PREFIX
from pullthrough.targets import requested_accounts

if TYPE_CHECKING:
    from pullthrough.models import RuleRequest


def checked_targets(deps: Deps, request: RuleRequest) -> list[str]:
    """The accounts ``request`` targets, once its roles and credential secret are checked.

    Raises InvalidRequest naming the field at fault; nothing is written before.
    """
    check_roles(request, deps.require_executions().account_id(), deps.role_path)
    if request.credentialSecretArn is not None:
        check_credential_secret(deps, request.credentialSecretArn)
    return target_accounts(deps, request)


def check_roles(request: RuleRequest, account_id: str, role_path: str = "/") -> None:
    """Refuse a customRoleArn (rule or template) outside ``account_id``, the deployment's account, or outside
    ``role_path``, the IAM path of the roles this deployment may pass to ECR.

    ECR: "This role must be in the same account as the registry that you are configuring".
    """
    for field, arn in request.role_arns():
        if arn.split(":")[4] != account_id:
            raise InvalidRequest(
                f"must be a role of account {account_id}, where pullthrough runs (ECR takes only roles of the "
                "registry's own account)",
                field=field,
            )
        if not arn.split(":", 5)[5].startswith("role" + role_path):
            raise InvalidRequest(
                f"must be a role under the path {role_path} (this deployment passes no other role to ECR)",
                field=field,
            )


def check_credential_secret(deps: Deps, arn: str) -> None:
    """A named credential secret must be this account's, in the home region, under ecr-pullthroughcache/.

    Raises InvalidRequest naming ``credentialSecretArn`` otherwise (StoreSecret could not read it).
    """
    parts = arn.split(":")
    name = parts[6] if len(parts) > 6 else ""
    account = deps.require_executions().account_id() if deps.executions is not None else parts[4]
    allowed = deps.credential_prefix if deps.credential_prefix.startswith(SECRET_PREFIX) else SECRET_PREFIX
    if parts[3] != deps.home_region or parts[4] != account or not name.startswith(allowed):
        raise InvalidRequest(
            f"must name a secret of account {account} in {deps.home_region} whose name starts with {allowed}",
            field="credentialSecretArn",
        )
    if deps.home_secrets is not None and deps.home_secrets.describe(arn) is None:
        raise InvalidRequest("names a secret that does not exist", field="credentialSecretArn")


def target_accounts(deps: Deps, request: RuleRequest) -> list[str]:
    """The accounts a request targets: its accounts and the members of its organizational units (the home
    account when it names neither). Refuses roles of one account when the rule reaches several."""
    if request.organizationalUnits and deps.organization is None:
        raise RuntimeError(
            "expanding organizationalUnits needs the organization (rollouts_from_env(organization=True))"
        )
    # OUs with no active account yet are fine: accounts that join them later get the rule (AccountMembership).
    accounts = requested_accounts(request, deps.home_account, deps.organization)  # type: ignore[arg-type]
    roles = request.role_arns()
    if roles and accounts != [deps.home_account]:
        raise InvalidRequest(
            "names a role of one account, but ECR takes only roles of the registry's own account and "
            f"this rule targets {len(accounts)} accounts",
            field=roles[0][0],
        )
    return accounts
