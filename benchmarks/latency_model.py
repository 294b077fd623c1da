"""A latency model instead of one flat figure: what an AWS call from the home region costs, by target region.

Round-trip time from the home region to a region: the great-circle distance between the two regions' metro areas
times a route factor of 1.5 (fiber does not follow great circles), at the speed of light in fiber (about
200,000 km/s, refractive index ~1.47), plus 2 ms in each region's own network (load balancers, the service front
end): ``rtt_ms = 2 + 2 * distance_km * 1.5 / 200``. That gives us-east-1 -> us-east-2 9 ms, -> eu-west-1 84 ms,
-> ap-southeast-2 (Sydney) 237 ms, in line with published inter-region ping tables (which also vary by hour).

A call costs ``requests`` round trips (1 on a warm client's kept-alive HTTPS connection, which every measured run
has: a first, unmeasured rollout made the clients). Lambda Invoke, which the state machine's Task states make in the
home region, costs a fixed overhead on top of its round trip (``LAMBDA_INVOKE_MS``: the service's routing to a warm
sandbox, in published measurements of warm invokes typically 10-30 ms). A region this table does not place is an
error that names it (add its coordinates): a silent default would skew the comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FIBER_KM_PER_MS = 200.0  # light in fiber: c / ~1.47
ROUTE_FACTOR = 1.5  # path length over great-circle distance
IN_REGION_MS = 2.0  # a request that stays in one region (and the fixed part of any round trip)
LAMBDA_INVOKE_MS = 20.0  # Lambda's own overhead per warm invoke, on top of the round trip
EARTH_RADIUS_KM = 6371.0

#: Each region's metro area (latitude, longitude), as AWS names it on its region map.
REGION_COORDINATES: dict[str, tuple[float, float]] = {
    "af-south-1": (-33.92, 18.42),  # Cape Town
    "ap-east-1": (22.32, 114.17),  # Hong Kong
    "ap-east-2": (25.03, 121.57),  # Taipei
    "ap-northeast-1": (35.68, 139.69),  # Tokyo
    "ap-northeast-2": (37.57, 126.98),  # Seoul
    "ap-northeast-3": (34.69, 135.50),  # Osaka
    "ap-south-1": (19.08, 72.88),  # Mumbai
    "ap-south-2": (17.39, 78.49),  # Hyderabad
    "ap-southeast-1": (1.35, 103.82),  # Singapore
    "ap-southeast-2": (-33.87, 151.21),  # Sydney
    "ap-southeast-3": (-6.21, 106.85),  # Jakarta
    "ap-southeast-4": (-37.81, 144.96),  # Melbourne
    "ap-southeast-5": (3.14, 101.69),  # Malaysia (Kuala Lumpur)
    "ap-southeast-6": (-36.85, 174.76),  # New Zealand (Auckland)
    "ap-southeast-7": (13.76, 100.50),  # Thailand (Bangkok)
    "ca-central-1": (45.50, -73.57),  # Montreal
    "ca-west-1": (51.05, -114.07),  # Calgary
    "eu-central-1": (50.11, 8.68),  # Frankfurt
    "eu-central-2": (47.38, 8.54),  # Zurich
    "eu-north-1": (59.33, 18.07),  # Stockholm
    "eu-south-1": (45.46, 9.19),  # Milan
    "eu-south-2": (41.65, -0.88),  # Spain (Aragon)
    "eu-west-1": (53.35, -6.26),  # Dublin
    "eu-west-2": (51.51, -0.13),  # London
    "eu-west-3": (48.86, 2.35),  # Paris
    "il-central-1": (32.09, 34.78),  # Tel Aviv
    "me-central-1": (25.20, 55.27),  # UAE (Dubai)
    "me-south-1": (26.07, 50.56),  # Bahrain
    "mx-central-1": (20.59, -100.39),  # Mexico (Queretaro)
    "sa-east-1": (-23.55, -46.63),  # Sao Paulo
    "us-east-1": (39.04, -77.49),  # N. Virginia (Ashburn)
    "us-east-2": (39.96, -83.00),  # Ohio (Columbus)
    "us-west-1": (37.35, -121.96),  # N. California
    "us-west-2": (45.84, -119.70),  # Oregon (Boardman)
}


class UnknownRegion(ValueError):
    """The model has no coordinates for a region."""


def distance_km(a: str, b: str) -> float:
    """Great-circle (haversine) distance between two regions' metro areas."""
    (lat1, lon1), (lat2, lon2) = _where(a), _where(b)
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def rtt_ms(home: str, region: str) -> float:
    """Round-trip time from ``home`` to ``region`` (see the module docstring)."""
    if home == region:
        return IN_REGION_MS
    return IN_REGION_MS + 2 * distance_km(home, region) * ROUTE_FACTOR / FIBER_KM_PER_MS


def _where(region: str) -> tuple[float, float]:
    try:
        return REGION_COORDINATES[region]
    except KeyError:
        raise UnknownRegion(
            f"the latency model has no coordinates for {region!r}: add its metro area to "
            "benchmarks/latency_model.py REGION_COORDINATES"
        ) from None


@dataclass(frozen=True)
class LatencyModel:
    """Milliseconds a request from ``home`` waits before the emulator serves it: its region's round trip times the
    requests a call needs, plus Lambda's invoke overhead for Lambda calls."""

    home: str
    requests_per_call: int = 1
    lambda_invoke_ms: float = LAMBDA_INVOKE_MS
    scale: float = 1.0  # every wait times this (the smoke test's quick run: 0.1)

    def call_ms(self, region: str, service: str) -> float:
        """One call to ``service`` in ``region`` (an unsigned request, region unknown, is priced in the home region)."""
        wait = self.requests_per_call * rtt_ms(self.home, region or self.home)
        return self.scale * (wait + (self.lambda_invoke_ms if service == "lambda" else 0.0))

    def slowest(self, regions: list[str]) -> str:
        """The region farthest from home (its serial chain is the rollout's physical limit)."""
        return max(regions, key=lambda region: rtt_ms(self.home, region))

    def describe(self) -> str:
        scaled = f"; every wait x {self.scale:g}" if self.scale != 1 else ""
        return (
            f"per-region round trip from {self.home}: 2 ms + great-circle distance x {ROUTE_FACTOR:g} (route factor) "
            f"/ {FIBER_KM_PER_MS:g} km/ms (light in fiber), x 2; {self.requests_per_call} request(s) per call "
            f"(warm, kept-alive connections); Lambda Invoke + {self.lambda_invoke_ms:g} ms{scaled}"
        )
