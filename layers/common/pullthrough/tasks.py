"""Input and output models of the state machine's per-region tasks.

A region's state accumulates as it moves through the steps: each step reads the task (the rule, the region,
the source secret ARN) plus what earlier steps reported, and returns only its own change record. Nothing here
holds a credential value: secrets travel by ARN, prior secret state by version id.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pullthrough.exceptions import InvalidRequest
from pullthrough.models import CreationTemplate, Rule, SourceSecretArn
from pullthrough.regions import check_region

Action = Literal["created", "updated", "replaced", "unchanged", "skipped", "deleted"]


class Change(BaseModel):
    """What a step did, and the prior state rollback needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action

    @property
    def changed(self) -> bool:
        return self.action not in ("unchanged", "skipped")


class SecretChange(Change):
    secretArn: str | None = None
    versionId: str | None = None
    priorVersionId: str | None = None  # AWSCURRENT before the step; None when the step created the secret
    priorScheduledForDeletion: bool | None = (
        None  # True when the step restored a secret a DELETE rollout had scheduled for deletion
    )
    sourceVersionId: str | None = None  # the home-region source secret version the step copied


class RuleChange(Change):
    rule: dict[str, Any] | None = None  # the rule as it stands after the step
    prior: dict[str, Any] | None = None  # the rule before the step; None when there was none


class TemplateChange(Change):
    prior: dict[str, Any] | None = None  # the creation template before the step; None when there was none


class RegionTask(BaseModel):
    """One region's work item, as the state machine's Map hands it to every step."""

    # The state carries more keys (error records, timings); each step takes what it needs.
    model_config = ConfigDict(extra="ignore", frozen=True)

    rolloutId: Annotated[str, Field(min_length=1, max_length=80)]
    region: str
    mode: Literal["APPLY", "PLAN"] = "APPLY"  # PLAN: every write is refused (see pullthrough.planning)
    action: Literal["APPLY", "REMOVE"] = "APPLY"
    inlineCredentials: bool = False  # a plan of a request with inline credentials (never stored, so no ARN)
    dropTemplate: bool = False  # no template desired any more, but the previous desired state applied one
    failureTolerance: Annotated[int, Field(ge=0)] = 0
    rule: Rule
    sourceSecretArn: SourceSecretArn | None = None
    creationTemplate: CreationTemplate | None = None  # None: leave creation templates alone
    storeSecret: SecretChange | None = None
    createRule: RuleChange | None = None
    applyTemplate: TemplateChange | None = None

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        try:
            return check_region(region, field="region")
        except InvalidRequest as exc:
            raise ValueError(exc.message) from None

    @property
    def prefix(self) -> str:
        return self.rule.ecrRepositoryPrefix

    @property
    def planning(self) -> bool:
        return self.mode == "PLAN"


class RemovalResult(BaseModel):
    """What a DELETE rollout removed from one region, in the shape rollback reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    storeSecret: SecretChange
    createRule: RuleChange
    applyTemplate: TemplateChange


class RollbackResult(BaseModel):
    """What rollback did to each resource of one region."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str
    template: Action
    rule: Action
    secret: Action
