"""The runs of ``services_bench`` and the ratios it reports from their figures.

A run is (mode, driver, requests in flight, requests); a result is a dict with at least
``round``, ``server``, ``driver``, ``in_flight`` and ``rate`` (requests/s). Ratios are
taken between runs of the same round only, and reported as their median over rounds:
on a busy machine, runs minutes apart do not compare.
"""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ["MODES", "PLAN", "RATIOS", "TARGETS", "plan", "ratios", "report"]

#: Every mode with the requests of its runs by requests in flight (``--quick``: a quarter).
PLAN: tuple[tuple[str, dict[int, int]], ...] = (
    ("noop", {1: 1500, 32: 8000}),
    ("noop-confirms", {1: 1500, 32: 8000}),
    ("sleep20", {1: 150, 32: 4000}),
    ("sleep20-confirms", {32: 4000}),
    ("aleph", {1: 150, 32: 3000}),
    ("aleph-metrics", {32: 3000}),
    ("baseline-noop", {1: 1500, 32: 3000}),
    ("baseline-sleep20", {1: 100, 32: 150}),
    ("baseline-aleph", {1: 100, 32: 150}),
    ("minimal-noop", {32: 8000}),
    ("minimal-sleep20", {32: 4000}),
    ("threadpool-noop", {32: 8000}),
    ("threadpool-sleep20", {32: 4000}),
)
MODES = tuple(mode for mode, _ in PLAN)

#: Ratios of rates at 32 in flight: label, numerator (mode, driver), denominator (a
#: (mode, driver) or a rate). Printed when the run has both.
RATIOS: tuple[tuple[str, tuple[str, str], tuple[str, str] | float], ...] = (
    ("noop raw / original design noop", ("noop", "raw"), ("baseline-noop", "raw")),
    ("noop raw / minimal async server", ("noop", "raw"), ("minimal-noop", "raw")),
    ("noop raw / thread-pool peer", ("noop", "raw"), ("threadpool-noop", "raw")),
    ("noop raw, transactions / confirms", ("noop", "raw"), ("noop-confirms", "raw")),
    ("sleep20 raw, transactions / confirms", ("sleep20", "raw"), ("sleep20-confirms", "raw")),
    ("sleep20 raw / physical limit 1600/s", ("sleep20", "raw"), 1600.0),
    ("sleep20 raw / minimal async server", ("sleep20", "raw"), ("minimal-sleep20", "raw")),
    ("sleep20 raw / thread-pool peer", ("sleep20", "raw"), ("threadpool-sleep20", "raw")),
    (
        "sleep20-confirms raw / thread-pool peer",
        ("sleep20-confirms", "raw"),
        ("threadpool-sleep20", "raw"),
    ),
    (
        "thread-pool peer / minimal (20 ms)",
        ("threadpool-sleep20", "raw"),
        ("minimal-sleep20", "raw"),
    ),
    ("aleph raw / original design (20 ms)", ("aleph", "raw"), ("baseline-sleep20", "raw")),
    ("aleph raw / original design (Aleph)", ("aleph", "raw"), ("baseline-aleph", "raw")),
    ("aleph client / original design (Aleph)", ("aleph", "client"), ("baseline-aleph", "raw")),
    ("aleph raw, metrics on / off", ("aleph-metrics", "raw"), ("aleph", "raw")),
)

#: The issue's targets on the 20 ms handler: the daemon at or above the thread-pool peer,
#: and within 5 % of the minimal asynchronous server (the median ratio at least this).
TARGETS: tuple[tuple[str, float], ...] = (
    ("sleep20 raw / thread-pool peer", 1.0),
    ("sleep20 raw / minimal async server", 0.95),
)


def plan(
    modes: list[str], in_flights: set[int] | None, drivers: set[str] | None, scale: float
) -> list[tuple[str, str, int, int]]:
    """The runs of one round: (mode, driver, in flight, requests), in the order of ``modes``."""
    sizes_of = dict(PLAN)
    runs = []
    for mode in modes:
        single = mode.startswith(("baseline", "minimal", "threadpool")) or mode.endswith(
            ("-metrics", "-confirms")
        )
        for in_flight, total in sizes_of[mode].items():
            for driver in ("raw",) if single else ("raw", "client"):
                if (in_flights is None or in_flight in in_flights) and (
                    drivers is None or driver in drivers
                ):
                    runs.append((mode, driver, in_flight, max(50, int(total * scale))))
    return runs


def ratios(results: list[dict[str, Any]], rounds: int) -> list[tuple[str, list[float]]]:
    """Each ratio of :data:`RATIOS` the results allow, once per round (same-round runs)."""
    rates = {(r["round"], r["server"], r["driver"], r["in_flight"]): r["rate"] for r in results}
    found = []
    for label, (mode, driver), denominator in RATIOS:
        values = []
        for index in range(rounds):
            numerator = rates.get((index, mode, driver, 32))
            below = (
                denominator
                if isinstance(denominator, float)
                else rates.get((index, *denominator, 32))
            )
            if numerator is not None and below:
                values.append(numerator / below)
        if values:
            found.append((label, values))
    return found


def report(results: list[dict[str, Any]], rounds: int) -> None:
    """Median requests/s of each run over the rounds, then the ratios (median of ratios)."""
    if rounds > 1:
        print(f"\nmedian req/s over {rounds} rounds:")
        runs = dict.fromkeys((r["server"], r["driver"], r["in_flight"]) for r in results)
        for mode, driver, in_flight in runs:
            rates = [
                r["rate"]
                for r in results
                if (r["server"], r["driver"], r["in_flight"]) == (mode, driver, in_flight)
            ]
            print(
                f"  {mode:18} {driver:7} {in_flight:3d} in flight {statistics.median(rates):8.0f}"
            )
    found = ratios(results, rounds)
    if not found:
        return
    print(
        "\nratios at 32 in flight"
        + (f" (median [min-max] of {rounds} rounds)" if rounds > 1 else "")
        + ":"
    )
    for label, values in found:
        spread = f"  [{min(values):.3f}-{max(values):.3f}]" if len(values) > 1 else ""
        print(f"  {label + ':':42} {statistics.median(values):7.3f}{spread}")
    wanted = dict(TARGETS)
    for label, values in found:
        if label in wanted:
            median = statistics.median(values)
            met = sum(value >= wanted[label] for value in values)
            print(
                f"  target {label} >= {wanted[label]:.2f}: "
                f"{'met' if median >= wanted[label] else 'NOT met'} by the median "
                f"({met} of {len(values)} rounds)"
            )
