"""PUT /rules/{prefix}: a rule request whose prefix comes from the path.

With the prefix in the path, IAM policies on ``execute-api:Invoke`` can say which prefixes a caller may change
(``arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/PUT/rules/team-a/*``); the body then may not name another one.
"""

from __future__ import annotations

from typing import Any

from pullthrough.exceptions import InvalidRequest
from pullthrough.models import RuleRequest, parse_model


def for_path_prefix(request: RuleRequest, prefix: str, body: Any) -> RuleRequest:
    """``request`` for the rule ``prefix`` (canonical) the path names.

    A body that names ``ecrRepositoryPrefix`` must name the same prefix (InvalidRequest naming the field); one that
    leaves it out gets the path's (``body`` is re-validated with it, since the upstream's default no longer applies).
    """
    if "ecrRepositoryPrefix" in request.model_fields_set:
        if request.ecrRepositoryPrefix != prefix:
            raise InvalidRequest(
                f"must be {prefix!r}, the prefix the path names, or be left out", field="ecrRepositoryPrefix"
            )
        return request
    return parse_model(RuleRequest, {**body, "ecrRepositoryPrefix": prefix})
