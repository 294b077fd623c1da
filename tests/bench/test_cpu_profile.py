"""benchmarks.cpu_profile reads py-spy's raw output into shares by function, by stack and by package."""

from __future__ import annotations

from benchmarks.cpu_profile import Profile
from benchmarks.settings import ROOT

SITE = "/venv/lib/python3.13/site-packages"
RAW = "\n".join(
    [
        f"run (/usr/lib/python3.13/threading.py:981);call_action ({SITE}/moto/core/responses.py:434);"
        f"getmembers (/usr/lib/python3.13/inspect.py:621) 3",
        f"run (/usr/lib/python3.13/threading.py:981);call_action ({SITE}/moto/core/responses.py:434) 2",
        f"run (/usr/lib/python3.13/threading.py:981);cached ({ROOT}/local/emulator/engine_tuning.py:120) 1",
        " 4",  # the GIL held by a thread with no Python frame
        "",
    ]
)


def test_raw_stacks_become_own_cumulative_and_package_shares() -> None:
    profile = Profile.from_raw(RAW)

    assert (profile.total, profile.no_frames) == (6, 4)
    assert profile.own["getmembers (inspect.py)"] == 3
    assert profile.own["call_action (moto/core/responses.py)"] == 2
    assert profile.cumulative["call_action (moto/core/responses.py)"] == 5
    assert profile.cumulative["run (threading.py)"] == 6
    assert profile.packages == {"stdlib": 3, "moto/core": 2, "local/emulator": 1}
