"""A desired rule item of the table as the sweep reads it: what is wanted where, and what the last rollout left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from pullthrough.models import Rule, RuleRequest, parse_model
from pullthrough.secret_names import arn_region

# What a region's read covers
RULES, TEMPLATES, SECRETS = "rules", "templates", "secrets"
EVERYTHING = frozenset({RULES, TEMPLATES, SECRETS})


class Deployed(BaseModel):
    """What the last finished rollout left in one region: the secret's ARN and its AWSCURRENT version id."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    secretArn: str | None = None
    secretVersionId: str | None = None  # None: the upstream needs no secret, or the version is not known
    rolloutId: str | None = None


class DesiredFields(BaseModel):
    """The fields of the desired item the sweep reads (the item holds more: bookkeeping, the last drift report)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rule: Rule
    regions: list[str] = []
    creationTemplate: dict[str, Any] | None = None
    sourceSecretArn: str | None = None
    sourceSecretVersionId: str | None = None
    deployed: dict[str, Deployed] | None = None  # absent on rules recorded before rollouts kept it


@dataclass(frozen=True)
class Desired:
    """A desired rule item of the table, as the sweep needs it."""

    item: dict[str, Any]
    fields: DesiredFields

    @classmethod
    def of(cls, item: dict[str, Any]) -> Desired:
        """The item's desired state, validated; InvalidRequest when the item does not hold a usable rule."""
        fields = parse_model(DesiredFields, item, what=f"desired rule {item.get('sk')!r}")
        if fields.sourceSecretArn:
            arn_region(fields.sourceSecretArn)
        return cls(item, fields)

    @property
    def rule(self) -> Rule:
        return self.fields.rule

    @property
    def prefix(self) -> str:
        return self.rule.ecrRepositoryPrefix

    @property
    def regions(self) -> list[str]:
        """The desired regions."""
        return list(self.fields.regions)

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
    def deployed(self) -> dict[str, Deployed]:
        """Every region the last rollout left anything in. Not recorded: the desired regions, versions unknown."""
        if self.fields.deployed is None:
            return {region: Deployed() for region in self.regions}
        return self.fields.deployed

    @property
    def undesired_regions(self) -> list[str]:
        """Regions the last rollout left something in that are not desired (any more)."""
        return [region for region in self.deployed if region not in self.regions]

    @property
    def source_region(self) -> str | None:
        """The source secret's region, when there is a recorded version of it to compare with."""
        if self.rule.needs_secret and self.source_arn and self.source_version:
            return arn_region(self.source_arn)
        return None

    def reads(self) -> dict[str, set[str]]:
        """The reads each region must make to check this rule: desired regions what the rule uses, regions it
        should have left everything, and the source secret's region its secrets."""
        wanted = {RULES} | ({TEMPLATES} if self.template is not None else set())
        if self.rule.needs_secret:
            wanted.add(SECRETS)
        needs = {region: set(wanted) for region in self.regions}
        for region in self.undesired_regions:
            needs[region] = set(EVERYTHING)
        if self.source_region is not None:
            needs.setdefault(self.source_region, set()).add(SECRETS)
        return needs

    def repair_request(self) -> RuleRequest:
        """The rule request that rolls this desired rule out again (``creationTemplate: null`` skips the step)."""
        rule = self.rule.model_dump(exclude_none=True)
        data = {
            **rule,
            "regions": self.regions,
            "creationTemplate": self.template,
            **({"credentialSecretArn": self.source_arn} if self.source_arn else {}),
        }
        return parse_model(RuleRequest, data, what=f"desired rule {self.prefix!r}")
