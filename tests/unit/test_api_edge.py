"""The API's edge, without AWS: JSON depth without recursion, validation errors in words, readable titles."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pullthrough.api_http import json_depth, one_segment_prefix
from pullthrough.request_fields import readable_title
from pullthrough.validation import field_errors


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[{{{{"}', 1),
        ('{"a": "\\"[[[["}', 1),  # an escaped quote does not end the string
        ('{"a": "\\\\", "b": [[]]}', 3),  # an escaped backslash does
        ("[" * 50, 50),
        ('"unterminated [[[', 0),
        ("", 0),
    ],
)
def test_json_depth_counts_only_structure(text: str, depth: int) -> None:
    assert json_depth(text) == depth


@pytest.mark.parametrize(
    "text",
    ['"' + '\\"' * 200_000, '"a' * 100_000, "[" * 250_000],
    ids=["escaped-quotes", "unterminated-strings", "brackets"],
)
def test_json_depth_stays_linear_on_hostile_text(text: str) -> None:
    started = time.perf_counter()
    json_depth(text)
    assert time.perf_counter() - started < 1.0


def test_a_raw_slash_in_a_rule_path_becomes_one_segment() -> None:
    assert one_segment_prefix({"path": "/rules/team/quay"})["path"] == "/rules/team%2Fquay"
    assert one_segment_prefix({"path": "/rules/quay"})["path"] == "/rules/quay"
    assert one_segment_prefix({"path": "/rollouts/r-1"})["path"] == "/rollouts/r-1"


def test_validation_errors_drop_where_the_value_came_from_and_hide_invented_credential_keys() -> None:
    errors: list[dict[str, Any]] = [
        {"type": "bool_parsing", "loc": ("query", "dryRun"), "msg": "Input should be a valid boolean"},
        {"type": "missing", "loc": ("body", "credentials", "accessToken"), "msg": "Field required"},
        {"type": "string_type", "loc": ("body", "credentials", "s3cr3t-key"), "msg": "Input should be a valid string"},
        {"type": "extra_forbidden", "loc": ("body", "x" * 500), "msg": "Extra inputs are not permitted"},
        {"type": "value_error", "loc": ("body", "regions"), "msg": "Value error, nope", "ctx": {"error": "nope"}},
    ]
    assert field_errors(errors) == [
        {"field": "dryRun", "message": "must be true or false"},
        {"field": "credentials.accessToken", "message": "is required"},
        {"field": "credentials", "message": "must be a string"},
        {"field": "x" * 64, "message": "is not a known field"},
        {"field": "regions", "message": "nope"},
    ]


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("upstreamRegistryUrl", "Upstream registry URL"),
        ("ecrRepositoryPrefix", "ECR repository prefix"),
        ("customRoleArn", "Custom role ARN"),
        ("rolloutId", "Rollout ID"),
        ("regions", "Regions"),
        ("Key", "Key"),
    ],
)
def test_field_titles_read_as_words(name: str, title: str) -> None:
    assert readable_title(name) == title
