"""How a rollout proceeds across accounts and regions (a rule request's ``rollout``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, ValidationInfo, field_validator

from pullthrough.request_fields import StrictModel

# Accounts worked on at once by default: 20 accounts of up to 40 regions each keep at most 800 steps running, under
# Lambda's default 1,000 concurrent executions per region; regions within an account run as maxConcurrency says.
DEFAULT_ACCOUNT_CONCURRENCY = 20


class RolloutOptions(StrictModel):
    """How a rollout proceeds, like CloudFormation StackSets' operation preferences.

    A target is one (account, region): failure tolerance counts failed targets across every account.
    """

    maxConcurrency: Annotated[StrictInt, Field(ge=1, le=40)] | None = Field(
        default=None,
        description="How many regions at most are worked on at once within each account (1-40). Default: all of them.",
    )
    accountConcurrency: Annotated[StrictInt, Field(ge=1, le=1000)] = Field(
        default=DEFAULT_ACCOUNT_CONCURRENCY,
        description="How many accounts at most are worked on at once (1-1,000), like StackSets' maximum concurrent "
        f"accounts. Default {DEFAULT_ACCOUNT_CONCURRENCY}: with up to 40 regions each, at most 800 steps run at "
        "once, under Lambda's default of 1,000 concurrent executions.",
    )
    failureTolerance: Annotated[StrictInt, Field(ge=0)] = Field(
        default=0,
        description="How many targets (an account in a region) may fail before the rollout stops and rolls every "
        "target it changed back. Default 0: all or nothing. Give this or failureTolerancePercentage, not both.",
    )
    failureTolerancePercentage: Annotated[StrictInt, Field(ge=0, le=100)] | None = Field(
        default=None,
        description="Instead of failureTolerance: the percentage of targets (0-100) that may fail, rounded down "
        "like StackSets' (10% of 25 targets tolerates 2 failures).",
    )
    regionOrder: list[str] | None = Field(
        default=None,
        description="The order in which regions are started in each account: exactly the requested regions. "
        "Default: as listed.",
    )

    @field_validator("failureTolerancePercentage")
    @classmethod
    def _one_tolerance(cls, percentage: int | None, info: ValidationInfo) -> int | None:
        if percentage is not None and info.data.get("failureTolerance"):
            raise ValueError("give failureTolerance or failureTolerancePercentage, not both")
        return percentage

    def tolerated_failures(self, total_targets: int) -> int:
        """How many of ``total_targets`` failed targets the rollout tolerates: the count, or the percentage of
        the total rounded down."""
        if self.failureTolerancePercentage is None:
            return self.failureTolerance
        return self.failureTolerancePercentage * total_targets // 100
