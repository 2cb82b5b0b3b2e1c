"""The metric names a daemon exports, as Prometheus stores them, and the names that the
deployment files and the documentation mention.

A labelled metric shows no sample in ``/metrics`` until it is first used, so the names
come from the daemon's registry and the type of each family: a counter is stored as
``<name>_total``, a histogram as ``_bucket``, ``_sum`` and ``_count``, an info as
``_info`` (prometheus_client adds ``_created`` to counters and histograms).
"""

from __future__ import annotations

import re

from edeposit.amqp.daemon.metrics import DaemonMetrics

#: The sample suffixes of each family type (prometheus_client's text format).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "info": ("_info",),
    "gauge": ("",),
}
#: A metric of this project in a text (``edeposit_amqp`` is the distribution's file name).
MENTIONED = re.compile(r"\bedeposit_(?!amqp\b)[a-z_]+[a-z]")


def families() -> dict[str, str]:
    """Family name → type, of every metric a daemon registers."""
    registry = DaemonMetrics(lambda: 0, lambda: None).registry
    return {family.name: family.type for family in registry.collect()}


def exported_samples() -> set[str]:
    """Every sample name the daemon's ``/metrics`` may carry."""
    return {name + suffix for name, kind in families().items() for suffix in SUFFIXES[kind]}


def documented() -> dict[str, str]:
    """How the documentation names each family → the type Prometheus gives it.

    A histogram goes by its own name, any other metric by the sample a query uses
    (``_total`` of a counter, ``_info`` of an info, which Prometheus stores as a gauge).
    """
    return {
        (name if kind == "histogram" else name + SUFFIXES[kind][0]): (
            "gauge" if kind == "info" else kind
        )
        for name, kind in families().items()
    }


def mentioned(text: str) -> set[str]:
    """The project's metric names a text mentions."""
    return set(MENTIONED.findall(text))
