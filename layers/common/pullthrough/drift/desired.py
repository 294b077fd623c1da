"""A desired rule item of the table as the sweep reads it: what is wanted in which (account, region), and what the
last rollout left there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from pullthrough.desired import Target, held_targets
from pullthrough.models import Rule, RuleRequest, parse_model
from pullthrough.secret_names import arn_region

# What a target's read covers
RULES, TEMPLATES, SECRETS = "rules", "templates", "secrets"
EVERYTHING = frozenset({RULES, TEMPLATES, SECRETS})


class Deployed(BaseModel):
    """What the last finished rollout left in one target (account, region): the secret's ARN and its AWSCURRENT
    version id."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    secretArn: str | None = None
    secretVersionId: str | None = None  # None: the upstream needs no secret, or the version is not known
    rolloutId: str | None = None


class DesiredFields(BaseModel):
    """The fields of the desired item the sweep reads (the item holds more: bookkeeping, the last drift report)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rule: Rule
    regions: list[str] = []
    accounts: list[str] | None = None
    organizationalUnits: list[str] | None = None
    targetAccounts: list[str] | None = None  # accounts and OUs as the last rollout expanded them; None: home only
    retainOnAccountRemoval: bool = False
    creationTemplate: dict[str, Any] | None = None
    smokePull: dict[str, Any] | None = None
    sourceSecretArn: str | None = None
    sourceSecretVersionId: str | None = None
    deployed: dict[str, Deployed] | None = None  # the home account's; absent on rules recorded before rollouts kept it
    deployedElsewhere: dict[str, dict[str, Deployed]] | None = None  # other accounts': {account: {region: entry}}


@dataclass(frozen=True)
class Desired:
    """A desired rule item of the table, as the sweep needs it: targets are (account, region), ``home`` the
    account pullthrough is deployed in."""

    item: dict[str, Any]
    fields: DesiredFields
    home: str

    @classmethod
    def of(cls, item: dict[str, Any], home: str) -> Desired:
        """The item's desired state, validated; InvalidRequest when the item does not hold a usable rule."""
        fields = parse_model(DesiredFields, item, what=f"desired rule {item.get('sk')!r}")
        if fields.sourceSecretArn:
            arn_region(fields.sourceSecretArn)
        return cls(item, fields, home)

    @property
    def rule(self) -> Rule:
        return self.fields.rule

    @property
    def prefix(self) -> str:
        return self.rule.ecrRepositoryPrefix

    @property
    def regions(self) -> list[str]:
        """The desired regions (in each desired account)."""
        return list(self.fields.regions)

    @property
    def accounts(self) -> list[str]:
        """The desired accounts, as the last rollout expanded them (the home account when none was named)."""
        accounts = self.fields.targetAccounts
        return [self.home] if accounts is None else list(accounts)

    @property
    def targets(self) -> list[Target]:
        """Every desired (account, region): the desired regions of each desired account, in order."""
        return [(account, region) for account in self.accounts for region in self.regions]

    @property
    def template(self) -> dict[str, Any] | None:
        return self.fields.creationTemplate

    @property
    def source_arn(self) -> str | None:
        return self.fields.sourceSecretArn

    @property
    def source_version(self) -> str | None:
        """The source secret's AWSCURRENT version id that the last successful rollout copied."""
        return self.fields.sourceSecretVersionId

    @property
    def deployed(self) -> dict[Target, Deployed]:
        """Every target the last rollout left anything in, as pullthrough.desired.held_targets reads it (the one
        reader of ``deployed``): a rule recorded before ``deployed`` existed holds its desired regions in the home
        account, versions unknown."""
        return {target: Deployed.model_validate(entry) for target, entry in held_targets(self.item, self.home).items()}

    @property
    def undesired_targets(self) -> list[Target]:
        """Targets the last rollout left something in that are not desired (any more)."""
        wanted = set(self.targets)
        return [target for target in self.deployed if target not in wanted]

    @property
    def source_region(self) -> str | None:
        """The source secret's region (in the home account), when there is a recorded version of it to compare."""
        if self.rule.needs_secret and self.source_arn and self.source_version:
            return arn_region(self.source_arn)
        return None

    def reads(self) -> dict[Target, set[str]]:
        """The reads each target must make to check this rule: desired targets what the rule uses, targets it
        should have left everything, and the source secret's region (home account) its secrets."""
        wanted = {RULES} | ({TEMPLATES} if self.template is not None else set())
        if self.rule.needs_secret:
            wanted.add(SECRETS)
        needs = {target: set(wanted) for target in self.targets}
        for target in self.undesired_targets:
            needs[target] = set(EVERYTHING)
        if self.source_region is not None:
            needs.setdefault((self.home, self.source_region), set()).add(SECRETS)
        return needs

    def repair_request(self) -> RuleRequest:
        """The rule request that rolls this desired rule out again to the same targets (the same accounts and
        organizational units, expanded again when it starts; ``creationTemplate: null`` skips the step)."""
        rule = self.rule.model_dump(exclude_none=True)
        where = {
            "accounts": self.fields.accounts,
            "organizationalUnits": self.fields.organizationalUnits,
        }
        data = {
            **rule,
            "regions": self.regions,
            **{key: value for key, value in where.items() if value is not None},
            "retainOnAccountRemoval": self.fields.retainOnAccountRemoval,
            "creationTemplate": self.template,
            **({"smokePull": self.fields.smokePull} if self.fields.smokePull else {}),
            **({"credentialSecretArn": self.source_arn} if self.source_arn else {}),
        }
        return parse_model(RuleRequest, data, what=f"desired rule {self.prefix!r}")
