"""The local upstreams' content and credentials, without sockets: digests over the exact bytes, the sample
credential pairs accepted, paths parsed as the distribution API names them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from local.emulator.registry import oci
from local.emulator.registry.upstream import SAMPLE_CREDENTIALS
from tests.support import ROOT


def _credential_pairs(value: Any) -> Iterator[tuple[str, str]]:
    """Every {"username", "accessToken"} in a sample event, JSON-encoded bodies included."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        if isinstance(value.get("username"), str) and isinstance(value.get("accessToken"), str):
            yield value["username"], value["accessToken"]
        for item in value.values():
            yield from _credential_pairs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _credential_pairs(item)


def test_the_upstreams_accept_every_credential_pair_the_sample_events_use() -> None:
    used = {
        pair for path in (ROOT / "events").glob("*.json") for pair in _credential_pairs(json.loads(path.read_text()))
    }

    assert used, "the samples name no credentials: this test no longer checks anything"
    assert used <= set(SAMPLE_CREDENTIALS)


def test_a_generated_image_names_its_parts_by_the_digests_of_their_exact_bytes() -> None:
    image = oci.generate("docker-hub library/alpine:3.20 #0")

    index = json.loads(image.index.data)
    assert [m["digest"] for m in index["manifests"]] == list(image.manifests)
    for digest, manifest in image.manifests.items():
        assert oci.digest_of(manifest.data) == digest
        assert all(oci.digest_of(image.blobs[child]) == child for child in manifest.children())
    assert {m["platform"]["architecture"] for m in index["manifests"]} == {"amd64", "arm64"}


def test_generated_images_are_reproducible_and_distinct_per_label() -> None:
    assert oci.generate("a").index.digest == oci.generate("a").index.digest
    assert oci.generate("a").index.digest != oci.generate("b").index.digest


def test_distribution_api_paths_split_into_name_kind_and_reference() -> None:
    digest = "sha256:" + "0" * 64
    assert oci.split_path("/v2/docker-hub/library/alpine/manifests/3.20") == (
        "docker-hub/library/alpine",
        "manifests",
        "3.20",
    )
    assert oci.split_path(f"/v2/a/blobs/{digest}") == ("a", "blobs", digest)
    assert oci.split_path("/v2/a/b/tags/list") == ("a/b", "tags", "list")
    assert oci.split_path("/v2/") is None
    assert oci.split_path("/v2/manifests/x") is None
