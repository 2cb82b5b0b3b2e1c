"""The client's load on a host of a data centre: :mod:`bench.traffic`'s publisher and
collector running in threads that entered the host's network namespace first, so that
their connections leave through that host's link and share its partitions.
"""

from __future__ import annotations

import collections
import time
from typing import Any

from bench.netns import enter
from bench.traffic import Collector, Publisher

__all__ = ["HostCollector", "HostPublisher"]


class HostPublisher(Publisher):
    """A :class:`Publisher` whose connections are those of the host of ``namespace``."""

    def __init__(self, namespace: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.namespace = namespace

    def run(self) -> None:
        enter(self.namespace)
        super().run()


class HostCollector(Collector):
    """A :class:`Collector` on the host of ``namespace`` that also notes when each answer
    first came (monotonic seconds, by UUID)."""

    def __init__(self, namespace: str, *args: Any) -> None:
        super().__init__(*args)
        self.namespace = namespace
        self.arrived: dict[str, float] = {}
        #: When each answer came, also a second one, by UUID.
        self.arrivals: dict[str, list[float]] = collections.defaultdict(list)

    def run(self) -> None:
        enter(self.namespace)
        super().run()

    def _on_answer(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        key = str((properties.headers or {}).get("UUID"))
        now = time.monotonic()
        self.arrived.setdefault(key, now)
        if not (method.redelivered and key in self.answers):  # as the collector counts
            self.arrivals[key].append(now)
        super()._on_answer(channel, method, properties, body)
