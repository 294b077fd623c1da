"""Which account an Organizations event is about, and which events pullthrough leaves alone."""

from __future__ import annotations

from typing import Any

import pytest

from pullthrough.exceptions import InvalidRequest
from pullthrough.membership import changed_account

ACCOUNT = "444455556666"


def moved(**params: Any) -> dict[str, Any]:
    return {
        "source": "aws.organizations",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventName": "MoveAccount", "requestParameters": params},
    }


def created(state: str, account: Any = ACCOUNT) -> dict[str, Any]:
    status = {"state": state, "accountId": account}
    return {
        "detail-type": "AWS Service Event via CloudTrail",
        "detail": {"eventName": "CreateAccountResult", "serviceEventDetails": {"createAccountStatus": status}},
    }


def test_move_account_and_a_created_account_name_their_account() -> None:
    assert changed_account(
        moved(accountId=ACCOUNT, sourceParentId="r-ab12", destinationParentId="ou-ab12-cd34ef56")
    ) == (ACCOUNT)
    assert changed_account(created("SUCCEEDED")) == ACCOUNT


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (created("FAILED"), "detail.serviceEventDetails"),
        (created("SUCCEEDED", account="12345"), "detail.serviceEventDetails.createAccountStatus.accountId"),
        (moved(accountId=None), "detail.requestParameters.accountId"),
        ({"detail": {"eventName": "CreateOrganizationalUnit"}}, "detail.eventName"),
        ({"detail": "MoveAccount"}, "detail"),
        ([], "detail"),
    ],
)
def test_other_events_are_refused_naming_the_field(event: Any, field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        changed_account(event)
    assert refused.value.field == field
