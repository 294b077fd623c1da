"""OCI distribution pieces shared by the local upstreams and the ECR registry endpoint: content, digests, answers.

Images are generated, never downloaded: an OCI image index naming one image manifest per platform (linux/amd64,
linux/arm64), each with a config and one small gzipped tar layer. Every digest is ``sha256:`` + the hex SHA-256 of
the exact bytes served, so a real client (skopeo) verifies them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (INDEX, MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Manifest:
    """A manifest or index as served: exact bytes, media type, digest."""

    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return digest_of(self.data)

    def children(self) -> list[str]:
        """Digests an index names (its manifests), or a manifest names (its config and layers)."""
        document = json.loads(self.data)
        if self.media_type in (INDEX, DOCKER_LIST):
            return [str(item["digest"]) for item in document.get("manifests", [])]
        return [str(document["config"]["digest"]), *(str(layer["digest"]) for layer in document.get("layers", []))]

    @property
    def is_index(self) -> bool:
        return self.media_type in (INDEX, DOCKER_LIST)


@dataclass
class Image:
    """One generated image: its top-level index, the manifests it names and every blob."""

    index: Manifest
    manifests: dict[str, Manifest] = field(default_factory=dict)  # digest -> platform manifest
    blobs: dict[str, bytes] = field(default_factory=dict)  # digest -> config or layer bytes


def _layer(content: bytes) -> tuple[bytes, bytes]:
    """A one-file tar (``/etc/pullthrough-image``), gzipped reproducibly: (gzipped, uncompressed)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("etc/pullthrough-image")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        archive.addfile(info, io.BytesIO(content))
    tar = raw.getvalue()
    return gzip.compress(tar, mtime=0), tar


def generate(label: str) -> Image:
    """An image whose only file says ``label`` (e.g. "docker-hub library/alpine:3.20 #0"): distinct labels give
    distinct digests."""
    image = Image(index=Manifest(b"", INDEX))
    entries = []
    for os_name, arch in PLATFORMS:
        layer, tar = _layer(f"{label} {os_name}/{arch}\n".encode())
        config = _canonical(
            {
                "architecture": arch,
                "os": os_name,
                "config": {"Cmd": ["/bin/sh"], "Labels": {"org.opencontainers.image.title": label}},
                "rootfs": {"type": "layers", "diff_ids": [digest_of(tar)]},
                "history": [{"created_by": "pullthrough local upstream"}],
            }
        )
        manifest = Manifest(
            _canonical(
                {
                    "schemaVersion": 2,
                    "mediaType": MANIFEST,
                    "config": {"mediaType": CONFIG, "digest": digest_of(config), "size": len(config)},
                    "layers": [{"mediaType": LAYER, "digest": digest_of(layer), "size": len(layer)}],
                }
            ),
            MANIFEST,
        )
        image.blobs[digest_of(config)] = config
        image.blobs[digest_of(layer)] = layer
        image.manifests[manifest.digest] = manifest
        entries.append(
            {
                "mediaType": MANIFEST,
                "digest": manifest.digest,
                "size": len(manifest.data),
                "platform": {"architecture": arch, "os": os_name},
            }
        )
    image.index = Manifest(_canonical({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}), INDEX)
    return image


def error(status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """An OCI distribution error answer: ``{"errors": [{"code", "message"}]}``."""
    body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]})
    return Response(body, status=status, headers=list(headers), content_type="application/json")


def manifest_response(manifest: Manifest, head: bool) -> Response:
    headers = {"Docker-Content-Digest": manifest.digest, "Content-Length": str(len(manifest.data))}
    return Response(b"" if head else manifest.data, status=200, headers=headers, content_type=manifest.media_type)


def blob_response(digest: str, data: bytes, head: bool) -> Response:
    headers = {"Docker-Content-Digest": digest, "Content-Length": str(len(data))}
    return Response(b"" if head else data, status=200, headers=headers, content_type="application/octet-stream")


def split_path(path: str) -> tuple[str, str, str] | None:
    """``/v2/<name>/manifests|blobs/<reference>`` -> (name, kind, reference), ``/v2/<name>/tags/list`` -> (name,
    "tags", "list"); None for any other path."""
    if not path.startswith("/v2/"):
        return None
    rest = path[len("/v2/") :]
    if rest.endswith("/tags/list") and len(rest) > len("/tags/list"):
        return rest[: -len("/tags/list")], "tags", "list"
    for kind in ("manifests", "blobs"):
        name, sep, reference = rest.rpartition(f"/{kind}/")
        if sep and name and reference and "/" not in reference:
            return name, kind, reference
    return None


def is_digest(reference: str) -> bool:
    return reference.startswith("sha256:") and len(reference) == len("sha256:") + 64
