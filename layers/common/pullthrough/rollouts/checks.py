"""A rule request's checks before anything is written: the roles it names, its credential secret, its targets."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from pullthrough.adapters.secrets import SecretFacts
from pullthrough.exceptions import InvalidRequest
from pullthrough.rollouts.deps import Deps
from pullthrough.secret_names import SECRET_PREFIX
from pullthrough.targets import requested_accounts

if TYPE_CHECKING:
    from pullthrough.models import RuleRequest


def checked_targets(deps: Deps, request: RuleRequest) -> list[str]:
    """The accounts ``request`` targets, once its roles, credential secret and accounts are checked.

    Raises InvalidRequest naming the field at fault; nothing is written before.
    """
    check_roles(request, deps.require_executions().account_id(), deps.role_path)
    if request.credentialSecretArn is not None:
        check_credential_secret(deps, request.credentialSecretArn, request.rule().ecrRepositoryPrefix)
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


def check_credential_secret(deps: Deps, arn: str, prefix: str) -> None:
    """A named credential secret must be this account's, in the home region, under ecr-pullthroughcache/, and the
    rule's own: not a source secret pullthrough keeps for another prefix, not a regional secret it manages, not
    encrypted with a customer-managed KMS key (ECR reads secrets under the AWS managed key only).

    Raises InvalidRequest naming ``credentialSecretArn`` otherwise (StoreSecret could not, or should not, read it).
    """
    parts = arn.split(":")
    name = parts[6] if len(parts) > 6 else ""
    account = deps.require_executions().account_id() if deps.executions is not None else parts[4]
    allowed = deps.credential_prefix if deps.credential_prefix.startswith(SECRET_PREFIX) else SECRET_PREFIX
    # The rule's own source secret (what drift repair and rotation name) is pullthrough's, whatever the deployment
    # narrows named secrets to: its name is the source prefix, the rule's prefix and Secrets Manager's "-XXXXXX".
    own_source = name[:-7] == deps.source_prefix + prefix
    if parts[3] != deps.home_region or parts[4] != account or not (name.startswith(allowed) or own_source):
        raise InvalidRequest(
            f"must name a secret of account {account} in {deps.home_region} whose name starts with {allowed}",
            field="credentialSecretArn",
        )
    if deps.home_secrets is None:
        return
    facts = deps.home_secrets.facts(arn)
    if facts is None:
        raise InvalidRequest("names a secret that does not exist", field="credentialSecretArn")
    check_own_secret(deps, facts, prefix)
    if facts.customer_managed_key:
        raise InvalidRequest(
            "names a secret encrypted with a customer managed KMS key: ECR only reads secrets encrypted with the AWS "
            "managed key aws/secretsmanager",
            field="credentialSecretArn",
        )


def check_own_secret(deps: Deps, facts: SecretFacts, prefix: str) -> None:
    """Refuse a secret pullthrough keeps for a rule (tagged managed-by: pullthrough, or named after a rule of the
    store), unless it is ``prefix``'s own source secret: another team's credential must not be copied out."""
    if facts.name == deps.source_prefix + prefix:
        return
    if facts.name.startswith(deps.source_prefix):
        owner = facts.name.removeprefix(deps.source_prefix)
        if facts.managed or deps.store.get_rule(owner) is not None:
            raise InvalidRequest(
                f"names the source secret pullthrough keeps for the prefix {owner!r}: a rule uses its own credential",
                field="credentialSecretArn",
            )
        return
    owner = facts.name.removeprefix(SECRET_PREFIX)
    if facts.managed or owner == prefix or deps.store.get_rule(owner) is not None:
        raise InvalidRequest(
            f"names the regional secret pullthrough manages for the prefix {owner!r}: name the source secret instead",
            field="credentialSecretArn",
        )


def check_members(deps: Deps, accounts: list[str] | None, *, only: Collection[str] | None = None) -> None:
    """Every account of ``accounts`` (those of ``only``, when given) must be the home account or an ACTIVE member of
    the deployment's Organization; without an Organization, only the home account. Raises InvalidRequest naming
    ``accounts.N`` otherwise: pullthrough's credentials and writes stay inside the Organization."""
    home = deps.home_account
    outside = [(i, a) for i, a in enumerate(accounts or []) if a != home and (only is None or a in only)]
    if not outside:
        return
    if deps.organization is None:
        raise RuntimeError("checking accounts needs the organization (rollouts_from_env(organization=True))")
    members = deps.organization.members(home)
    for index, account in outside:
        if account not in members:
            why = "nor an ACTIVE account of its Organization" if members else "which is in no Organization"
            raise InvalidRequest(
                f"{account} is not pullthrough's account ({home}), {why}: only those may be targeted",
                field=f"accounts.{index}",
            )


def target_accounts(deps: Deps, request: RuleRequest) -> list[str]:
    """The accounts a request targets: its accounts and the members of its organizational units (the home
    account when it names neither). Refuses roles of one account when the rule reaches several."""
    if request.organizationalUnits and deps.organization is None:
        raise RuntimeError(
            "expanding organizationalUnits needs the organization (rollouts_from_env(organization=True))"
        )
    check_members(deps, request.accounts)
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
