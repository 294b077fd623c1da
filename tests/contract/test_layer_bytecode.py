"""Contract tests of the layer's bytecode: Lambda mounts the layer read-only at /opt, so it must ship its .pyc files.

Without them every cold start compiles boto3, botocore, Powertools and pullthrough from source: more CPU than the
imports themselves. layers/common/Makefile compiles them (target compile-bytecode, run by build-CommonLayer) with
hash-based, unchecked invalidation, because the sources' mtimes change on the way through the zip. These tests run
that target on a copy of the layer's own package; they never run sam build (it downloads the dependencies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.util import MAGIC_NUMBER, cache_from_source
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCE = ROOT / "layers" / "common"
BUILT_LAYER = ROOT / ".aws-sam" / "build" / "CommonLayer" / "python"
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based (bit 0), source not checked (bit 1 clear)


def missing_bytecode(site: Path) -> list[str]:
    """The modules under ``site`` without bytecode of this interpreter's version that skips the source check."""
    missing = []
    for source in sorted(site.rglob("*.py")):
        cached = Path(cache_from_source(str(source)))
        header = cached.read_bytes()[:8] if cached.is_file() else b""
        if header[:4] != MAGIC_NUMBER or int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
            missing.append(str(source.relative_to(site)))
    return missing


@pytest.fixture(scope="module")
def compiled_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the layer's package, compiled by the Makefile's rule."""
    site = tmp_path_factory.mktemp("layer") / "python"
    shutil.copytree(LAYER_SOURCE / "pullthrough", site / "pullthrough", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        ["make", "--no-print-directory", "-C", str(LAYER_SOURCE), "compile-bytecode", f"SITE={site}",
         f"PYTHON={sys.executable}"],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    return site


def test_the_makefiles_rule_compiles_every_module_for_use_without_a_source_check(compiled_site: Path) -> None:
    assert list(compiled_site.rglob("*.py"))
    assert missing_bytecode(compiled_site) == []


def test_a_module_loads_from_its_bytecode_whatever_its_source_and_mtime_say(compiled_site: Path) -> None:
    # As on Lambda: the zip round trip moved every mtime, and nothing may write a cache (/opt is read-only).
    module = compiled_site / "pullthrough" / "prefixes.py"
    module.write_text('raise RuntimeError("compiled from the source, not loaded from the layer\'s bytecode")\n')
    os.utime(module, (1, 1))
    loaded = subprocess.run(
        [sys.executable, "-P", "-c", "import pullthrough.prefixes as m; print(m.canonical_prefix('a/b/'))"],
        env={**os.environ, "PYTHONPATH": str(compiled_site), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "a/b"


@pytest.mark.skipif(not BUILT_LAYER.is_dir(), reason="no .aws-sam build here (make build makes one)")
def test_the_built_layer_ships_bytecode_for_every_module() -> None:
    missing = missing_bytecode(BUILT_LAYER)
    assert missing == [], f"{len(missing)} module(s) without bytecode, e.g. {missing[:3]}: run make build"
