"""IAM's evaluation for one identity-based policy set: an explicit Deny wins, then an Allow, else denied.

- Actions: case-insensitive, ``*`` and ``?`` wildcards, ``NotAction``.
- Resources: ARN patterns with wildcards, segment by segment, ``NotResource``. A need whose resource is unknown
  (None) is checked by its action alone; a Deny of that action is taken to apply.
- Conditions: ``String*``, ``Arn*``, ``Null`` and ``Bool`` operators, with ``...IfExists`` and the
  ``ForAnyValue:``/``ForAllValues:`` set prefixes, on the keys this check knows for a request:
  ``aws:RequestTag/<key>``, ``aws:TagKeys``, ``aws:RequestedRegion``, ``iam:PassedToService``,
  ``iam:AWSServiceName``. Any other key (``aws:ResourceTag/...``, ``aws:SourceArn``, ...) or operator is unknown:
  conservatively, an Allow that depends on it grants nothing and a Deny that depends on it applies. A policy value
  the stack cannot resolve counts as unknown too.
Not modelled: resource-based policies, permission boundaries, SCPs, session policies, KMS key policies and the
first rule's service-linked role creation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from local.iam_policies import Statement, Unresolved, Value

#: Condition keys this check can tell for a request (lower case; tag keys follow the slash).
KNOWN_CONDITION_KEYS = (
    "aws:requesttag/",
    "aws:tagkeys",
    "aws:requestedregion",
    "iam:passedtoservice",
    "iam:awsservicename",
)


@dataclass(frozen=True)
class Need:
    """One permission a call needs: an action on a resource, with the condition keys the request carries.

    ``resource``: an ARN (it may end in a wildcard for "every repository under a prefix"), ``"*"`` for an action
    that supports no resource-level permission, None when unknown here. ``shown``: the ARN a message names.
    ``because``: the call's own action, for a dependent one.
    """

    action: str
    resource: str | None
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    because: str | None = None
    shown: str | None = None

    def describe(self) -> str:
        where = self.shown or self.resource
        text = self.action + (f" on {where}" if where and where != "*" else "")
        return text + (f" (needed by {self.because})" if self.because else "")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # which statement allowed or denied it, or why nothing did


# -- matching ------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, False).fullmatch(action) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's Resource matching: ``*`` alone matches everything; else the six ARN parts match one by one."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(given) != 6:
        return _glob(pattern, True).fullmatch(arn) is not None
    return all(_glob(w, True).fullmatch(g) is not None for w, g in zip(wanted, given, strict=True))


def _covers_resource(statement: Statement, resource: str | None) -> bool | None:
    """True/False, or None when an unresolved value decides it."""
    if resource is None:  # unknown here: the action alone is checked
        return True
    if statement.not_resources:
        inside = _any_match(statement.not_resources, resource)
        return None if inside is None else not inside
    return _any_match(statement.resources, resource)


def _any_match(patterns: Iterable[Value], resource: str) -> bool | None:
    unknown = False
    for pattern in patterns:
        if isinstance(pattern, Unresolved):
            unknown = True
        elif (pattern == "*") if resource == "*" else arn_matches(pattern, resource):
            return True
    return None if unknown else False


def _covers_action(statement: Statement, action: str) -> bool:
    if statement.not_actions:
        return not any(action_matches(p, action) for p in statement.not_actions)
    return any(action_matches(p, action) for p in statement.actions)


_STRING_OPERATORS = {
    "stringequals": (False, False, False),  # (negated, like, ignore case)
    "stringnotequals": (True, False, False),
    "stringequalsignorecase": (False, False, True),
    "stringnotequalsignorecase": (True, False, True),
    "stringlike": (False, True, False),
    "stringnotlike": (True, True, False),
    "arnequals": (False, True, False),
    "arnlike": (False, True, False),
    "arnnotequals": (True, True, False),
    "arnnotlike": (True, True, False),
}


def _known(key: str) -> bool:
    key = key.lower()
    return any(key == known or (known.endswith("/") and key.startswith(known)) for known in KNOWN_CONDITION_KEYS)


def _value_matches(pattern: str, value: str, like: bool, ignore_case: bool) -> bool:
    if like:
        return _glob(pattern, not ignore_case).fullmatch(value) is not None
    return pattern.lower() == value.lower() if ignore_case else pattern == value


def condition_test(
    operator: str,
    key: str,
    wanted: Sequence[Value],
    context: Mapping[str, tuple[str, ...]],
    known: Callable[[str], bool] | None = None,
) -> bool | None:
    """One condition (operator, key, values) against the request; None when this check cannot tell.

    ``known``: which condition keys the caller can tell for a request (default: ``KNOWN_CONDITION_KEYS``); a key it
    can tell but the request lacks is absent, as in IAM.
    """
    op = operator.lower()
    quantifier = ""
    for prefix in ("foranyvalue:", "forallvalues:"):
        if op.startswith(prefix):
            quantifier, op = prefix[:-1], op[len(prefix) :]
    if_exists = op.endswith("ifexists")
    op = op.removesuffix("ifexists")
    if not (known or _known)(key) or (op not in _STRING_OPERATORS and op not in ("null", "bool")):
        return None
    present = context.get(key.lower())
    if op == "null":
        if any(isinstance(w, Unresolved) for w in wanted):
            return None
        return any((w.lower() == "true") == (present is None) for w in wanted if isinstance(w, str))
    if present is None:
        if if_exists or quantifier == "forallvalues":
            return True
        negated = op in _STRING_OPERATORS and _STRING_OPERATORS[op][0]
        return negated
    if op == "bool":
        negated, like, ignore_case = False, False, True
    else:
        negated, like, ignore_case = _STRING_OPERATORS[op]
    unknown = any(isinstance(w, Unresolved) for w in wanted)
    patterns = [w for w in wanted if isinstance(w, str)]

    def one(value: str) -> bool | None:
        if any(_value_matches(p, value, like, ignore_case) for p in patterns):
            return not negated
        return None if unknown else negated

    results = [one(value) for value in present]
    if quantifier == "forallvalues":
        return False if False in results else (None if None in results else True)
    return True if True in results else (None if None in results else False)


def _conditions_hold(statement: Statement, context: Mapping[str, tuple[str, ...]]) -> bool | None:
    verdict: bool | None = True
    for operator, block in (statement.conditions or {}).items():
        for key, wanted in block.items():
            result = condition_test(operator, key, wanted, context)
            if result is False:
                return False
            if result is None:
                verdict = None
    return verdict


def decide(statements: Iterable[Statement], need: Need) -> Decision:
    """IAM's evaluation for one identity: an explicit Deny wins, then an Allow; otherwise denied."""
    allowed_by: Statement | None = None
    for statement in statements:
        if not _covers_action(statement, need.action):
            continue
        covers, holds = _covers_resource(statement, need.resource), _conditions_hold(statement, need.context)
        if statement.effect == "Deny":
            if covers is not False and holds is not False:  # unknown counts as applying
                return Decision(False, f"explicitly denied by {statement.name}")
        elif covers is True and holds is True and allowed_by is None:
            allowed_by = statement
    if allowed_by is not None:
        return Decision(True, f"allowed by {allowed_by.name}")
    return Decision(False, "no statement allows it")
