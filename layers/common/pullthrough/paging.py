"""Target listings in pages (GET /rollouts/{id}, GET /rules/{prefix}): at most PAGE_SIZE targets per answer, and a
``nextToken`` for the rest (pure functions, no AWS).

A token names the listing it came from and the last target it listed, so a page never repeats or skips a target
when targets are added or removed between calls, and a token from another listing is refused, not misread.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pullthrough.exceptions import InvalidRequest

Target = tuple[str, str]  # (account, region), as pullthrough.desired names it

PAGE_SIZE = 500
TOKEN_FIELD = "nextToken"


def _token(listing: str, after: Target) -> str:
    raw = json.dumps({"of": listing, "after": list(after)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(listing: str, token: str) -> Target:
    """The last target the page before listed. InvalidRequest naming nextToken when the token is not one this
    listing gave."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = decoded["after"]
        of = decoded["of"]
        if not (isinstance(after, list) and len(after) == 2 and all(isinstance(p, str) for p in after)):
            raise TypeError
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidRequest("is not a token this API gave", field=TOKEN_FIELD) from None
    if of != listing:
        raise InvalidRequest("was given for another listing: pass the nextToken of this one", field=TOKEN_FIELD)
    return (after[0], after[1])


def page(
    listing: str, ordered: Sequence[tuple[Target, Any]], token: str | None, size: int = PAGE_SIZE
) -> tuple[list[Any], str | None]:
    """The page of ``ordered`` (sorted by target) that ``token`` points to (the first when None), and the token of
    the next page (None on the last)."""
    start = 0 if token is None else bisect_right([target for target, _ in ordered], _after(listing, token))
    chosen = ordered[start : start + size]
    more = start + size < len(ordered)
    return [value for _, value in chosen], _token(listing, chosen[-1][0]) if more and chosen else None


# (first sort key, whether inclusive) -> some items of the listing's partition in order, and whether none follow
Read = Callable[[str, bool], tuple[list[dict[str, Any]], bool]]


def stored_page(
    listing: str,
    token: str | None,
    read: Read,
    key_prefix: str,
    targets_of: Callable[[dict[str, Any]], Iterable[tuple[Target, Any]]],
    first: Sequence[tuple[Target, Any]] = (),
    size: int = PAGE_SIZE,
) -> tuple[list[Any], str | None]:
    """A page of a listing kept one item per account (sort key ``key_prefix`` + account, read a few at a time from
    the page's first account on, never the whole listing), after ``first`` (one account's targets listed before
    the items': the home account's of a rule). Like ``page``: the values, and the next page's token or None."""
    after = None if token is None else _after(listing, token)

    def unlisted(target: Target) -> bool:
        return after is None or target[0] != after[0] or target[1] > after[1]

    collected: list[tuple[Target, Any]] = []
    start = key_prefix
    if after is None or (first and after[0] == first[0][0][0]):
        collected = [(target, value) for target, value in first if unlisted(target)]
    else:
        start = key_prefix + after[0]
    inclusive = True
    while len(collected) <= size:
        items, exhausted = read(start, inclusive)
        for item in items:
            if not str(item["sk"]).startswith(key_prefix):
                exhausted = True
                break
            collected.extend((target, value) for target, value in targets_of(item) if unlisted(target))
        if exhausted or not items:
            break
        start, inclusive = str(items[-1]["sk"]), False
    listed = collected[:size]
    return [value for _, value in listed], _token(listing, listed[-1][0]) if len(collected) > size else None


def counts(targets: Sequence[Target]) -> dict[str, int]:
    """How many targets, accounts and regions ``targets`` spans."""
    return {
        "targets": len(targets),
        "accounts": len({account for account, _ in targets}),
        "regions": len({region for _, region in targets}),
    }
