"""Read a Step Functions execution history: which Map iteration each event belongs to, state transitions, and the
per-region timeline of task states.

moto's history events carry ``id``, ``previousEventId``, ``timestamp`` and ``type``; a Map iteration begins with
``MapIterationStarted`` (``mapIterationStartedEventDetails``: name, index) and every later event of that iteration
points, through ``previousEventId``, back into the same iteration. Events after ``MapIteration{Succeeded,Failed,
Aborted}`` and the Map state's own closing events belong to the execution as a whole.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

IterationKey = tuple[str, int]  # (Map state name, item index)
_ITERATION_ENDS = {"MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"}
_MAP_CLOSES = {"MapStateSucceeded", "MapStateFailed", "MapStateAborted", "MapStateExited"}


def iterations(events: list[dict[str, Any]]) -> dict[int, IterationKey | None]:
    """Event id -> the Map iteration it belongs to (None: the execution's shared part)."""
    owner: dict[int, IterationKey | None] = {}
    types = {event["id"]: event["type"] for event in events}
    for event in sorted(events, key=lambda e: e["id"]):
        kind = event["type"]
        if kind == "MapIterationStarted":
            details = event["mapIterationStartedEventDetails"]
            owner[event["id"]] = (details["name"], int(details["index"]))
        elif kind in _MAP_CLOSES or types.get(event.get("previousEventId", 0)) in _ITERATION_ENDS:
            owner[event["id"]] = None
        else:
            owner[event["id"]] = owner.get(event.get("previousEventId", 0))
    return owner


@dataclass(frozen=True)
class Transitions:
    """State transitions (``*StateEntered`` events) of one execution, split by Map iteration."""

    per_iteration: dict[IterationKey, int]
    shared: int

    @property
    def total(self) -> int:
        return self.shared + sum(self.per_iteration.values())

    def per_region(self, regions: list[str]) -> dict[str, int]:
        """Transitions of each region's iterations (index i of any Map over the regions is regions[i])."""
        found: Counter[str] = Counter()
        for (_, index), count in self.per_iteration.items():
            found[regions[index]] += count
        return {region: found[region] for region in regions}


def transitions(events: list[dict[str, Any]]) -> Transitions:
    """Count state transitions: each ``*StateEntered`` event is one (Standard workflows bill per transition)."""
    owner = iterations(events)
    per_iteration: Counter[IterationKey] = Counter()
    shared = 0
    for event in events:
        if not event["type"].endswith("StateEntered"):
            continue
        key = owner.get(event["id"])
        if key is None:
            shared += 1
        else:
            per_iteration[key] += 1
    return Transitions(dict(per_iteration), shared)


@dataclass(frozen=True)
class Segment:
    """One state's run in one iteration (or the shared part), in seconds from the execution's start."""

    lane: str  # a region, or "(shared)"
    state: str
    start: float
    end: float


def started_at(events: list[dict[str, Any]]) -> datetime | None:
    """The time of the execution's first event (the origin of ``timeline``)."""
    if not events:
        return None
    first = min(events, key=lambda e: e["id"])["timestamp"]
    return first if isinstance(first, datetime) else datetime.fromisoformat(str(first))


def _seconds(stamp: Any, origin: datetime) -> float:
    moment = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp))
    return (moment - origin).total_seconds()


def timeline(events: list[dict[str, Any]], regions: list[str], map_name: str = "RolloutRegions") -> list[Segment]:
    """Task states per region (from ``TaskStateEntered`` to ``TaskStateExited``) plus the shared task states."""
    if not events:
        return []
    owner = iterations(events)
    ordered = sorted(events, key=lambda e: e["id"])
    origin = started_at(events)
    assert origin is not None
    open_states: dict[tuple[IterationKey | None, str], float] = {}
    segments: list[Segment] = []
    for event in ordered:
        kind = event["type"]
        if kind == "TaskStateEntered":
            name = event["stateEnteredEventDetails"]["name"]
            open_states[(owner.get(event["id"]), name)] = _seconds(event["timestamp"], origin)
        elif kind == "TaskStateExited":
            name = event["stateExitedEventDetails"]["name"]
            key = owner.get(event["id"])
            started = open_states.pop((key, name), None)
            if started is None:
                continue
            if key is None:
                lane = "(shared)"
            elif key[0] == map_name:
                lane = regions[key[1]]
            else:
                lane = f"{regions[key[1]]} ({key[0]})"
            segments.append(Segment(lane, name, started, _seconds(event["timestamp"], origin)))
    return segments


@dataclass(frozen=True)
class CriticalPath:
    """The Task states on a region's chain: those of the execution's shared part, and those of one iteration."""

    shared: list[str]
    per_region: list[str]


def critical_path(events: list[dict[str, Any]], regions: list[str]) -> CriticalPath | None:
    """Task states entered in the shared part and in the longest region iteration (None: no iteration visible)."""
    owner = iterations(events)
    shared: list[str] = []
    by_iteration: dict[IterationKey, list[str]] = {}
    for event in sorted(events, key=lambda e: e["id"]):
        if event["type"] != "TaskStateEntered":
            continue
        name = event["stateEnteredEventDetails"]["name"]
        key = owner.get(event["id"])
        if key is None:
            shared.append(name)
        elif key[1] < len(regions):
            by_iteration.setdefault(key, []).append(name)
    if not by_iteration:
        return None
    return CriticalPath(shared, max(by_iteration.values(), key=len))
