"""What a partition scenario leaves for an operator to read, and for a finding's report.

:func:`log_digest` folds a daemon's or a node's log into its warnings and errors, alike
lines counted together; :func:`answered_twice` gathers, for each request answered more
than once, who answered it and when, against the scenario's events, with every line the
daemons logged about it.
"""

from __future__ import annotations

import collections
import re
from typing import Any

from bench.host_load import HostCollector

__all__ = ["answered_twice", "log_digest"]

_LEVEL = re.compile(r" (?:WARNING|ERROR|CRITICAL) | \[(?:warning|error)\] ")


def log_digest(text: str, most: int = 8) -> dict[str, int]:
    """The warnings and errors of a daemon's or a node's log, alike lines counted together
    (times, UUIDs, Erlang pids and numbers left out): what an operator would see."""
    counts: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        level = _LEVEL.search(line)
        if level is None:
            continue
        message = re.sub(
            r"'[0-9a-f-]{36}' |<[0-9.]+> |edeposit\.amqp\.\S+ |/edeposit-partition-[0-9a-f]+",
            "",
            line[level.start() :],
        )
        counts[re.sub(r"\d+(?:\.\d+)*", "N", message).strip()[:160]] += 1
    return dict(counts.most_common(most))


def answered_twice(
    collector: HostCollector,
    made: dict[str, float],
    events: list[tuple[float, str]],
    logs: list[str],
) -> list[dict[str, Any]]:
    """Each request answered more than once: when it was made and answered (seconds from
    the first event), by whom (``app_id``), the events, and every line of the daemons'
    ``logs`` (by daemon index) that names it."""
    start = events[0][0] if events else 0.0
    found = []
    for key, names in collector.answered_by.items():
        if len(names) < 2:
            continue
        found.append(
            {
                "UUID": key,
                "made_s": round(made.get(key, start) - start, 3),
                "answered_by": names,
                "arrived_s": [round(when - start, 3) for when in collector.arrivals[key]],
                "events": [f"{when - start:.3f} s {what}" for when, what in events],
                "log": [
                    f"daemon {index}: {line}"
                    for index, text in enumerate(logs)
                    for line in text.splitlines()
                    if key in line
                ],
            }
        )
    return found
