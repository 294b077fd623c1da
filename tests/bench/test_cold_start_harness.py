"""The cold-start harness measures both sides alike: the baseline's place moves, and the children use bytecode caches.

No stack here: round_order is pure, and the metrics mode of the child needs only the layer.
"""

from __future__ import annotations

import shutil
from importlib.util import cache_from_source
from pathlib import Path

import pytest

from benchmarks import cold_start
from benchmarks.cold_start import BASELINE, NO_BYTECODE, round_order

LAYER_PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "common" / "pullthrough"
FUNCTIONS = ["StoreSecretFunction", "CreateRuleFunction", "ValidateRuleFunction", "RollbackFunction"]


def test_the_baseline_takes_every_place_in_turn_and_the_functions_keep_their_order() -> None:
    rounds = [round_order(FUNCTIONS, number) for number in range(2 * (len(FUNCTIONS) + 1))]
    assert all([name for name in order if name != BASELINE] == FUNCTIONS for order in rounds)
    assert all(order.count(BASELINE) == 1 for order in rounds)
    places = [order.index(BASELINE) for order in rounds]
    assert sorted(places) == sorted(2 * list(range(len(FUNCTIONS) + 1)))


def test_a_child_writes_bytecode_caches_even_when_the_caller_forbids_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Forbidden here, every child compiled every module from source in every round: the side importing more paid more.
    monkeypatch.setenv(NO_BYTECODE, "1")
    layer = tmp_path / "layer"
    shutil.copytree(LAYER_PACKAGE, layer / "pullthrough", ignore=shutil.ignore_patterns("__pycache__"))
    answer = cold_start._run_child({"mode": "metrics", "layer_dir": str(layer), **cold_start.METRICS_SPEC})
    assert answer["lines"] > 0
    cached = Path(cache_from_source(str(layer / "pullthrough" / "observability.py")))
    assert cached.is_file(), f"no {cached.name}: the child ran with {NO_BYTECODE} set"
