"""Closed-loop load for fleet and cache benchmarks, and what they read off processes.

A :class:`ClosedLoop` keeps ``in_flight`` requests outstanding: a publisher thread sends
one whenever an answer came back, a collector thread consumes the answer queue and
notes each answer's latency (publish to answer) by its UUID. Nothing is confirmed or
retried: these runs have no faults, and a lost answer would show as a stall.

:func:`cpu_seconds` reads a process's CPU time (user + system) from ``/proc``;
:func:`emulator_calls` the catalogue calls the emulator counted.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pika

from bench.traffic import close_quietly
from edeposit.amqp.config import Settings
from edeposit.amqp.runtime.parameters import connection_parameters

__all__ = ["ClosedLoop", "cpu_seconds", "emulator_calls", "percentile", "system_cpu"]

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def system_cpu() -> tuple[float, float]:
    """``(busy, total)`` CPU seconds of the whole machine since boot (all cores)."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / _TICKS, sum(values) / _TICKS


def emulator_calls(url: str) -> int:
    """Catalogue calls (X requests and export posts) the emulator at ``url`` received."""
    with urllib.request.urlopen(url + "/_emulator/stats", timeout=10) as reply:
        return int(json.loads(reply.read())["call_count"])


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class ClosedLoop:
    """``in_flight`` requests outstanding against the daemons of ``settings``' vhost.

    Args:
        settings: broker, vhost, exchange and queue names.
        make: the body of the ``index``-th request.
        in_flight: requests outstanding at any time (at most, with ``rate``).
        rate: requests sent per second at most (0 = as fast as answers come back).
    """

    def __init__(
        self, settings: Settings, make: Callable[[int], bytes], in_flight: int, rate: float = 0.0
    ) -> None:
        self.settings = settings
        self.rate = rate
        self.make = make
        self.in_flight = in_flight
        self._slots = threading.Semaphore(in_flight)
        self._lock = threading.Lock()
        self._sent: dict[str, float] = {}
        #: ``(answered at, latency seconds, failed)`` of every answer, in arrival order.
        self.answers: list[tuple[float, float, bool]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._threads = [
            threading.Thread(target=self._publish, name="load-publisher", daemon=True),
            threading.Thread(target=self._collect, name="load-collector", daemon=True),
        ]

    def start(self) -> ClosedLoop:
        self._threads[1].start()
        self._ready.wait(30)
        self._threads[0].start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for _ in range(self.in_flight):
            self._slots.release()
        for thread in self._threads:
            thread.join(15)

    def between(self, start: float, end: float) -> list[tuple[float, float, bool]]:
        """Answers that arrived in ``[start, end)`` (monotonic seconds)."""
        with self._lock:
            return [answer for answer in self.answers if start <= answer[0] < end]

    def summary(self, start: float, end: float) -> dict[str, Any]:
        """Requests/s, latency p50/p99 (ms) and failures of answers in the window."""
        answers = self.between(start, end)
        latencies = [latency for _, latency, _ in answers]
        return {
            "answers": len(answers),
            "rps": len(answers) / (end - start),
            "p50_ms": 1000 * percentile(latencies, 0.5),
            "p99_ms": 1000 * percentile(latencies, 0.99),
            "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
            "failed": sum(failed for _, _, failed in answers),
        }

    def _publish(self) -> None:
        connection = pika.BlockingConnection(connection_parameters(self.settings))
        channel = connection.channel()
        cfg = self.settings
        index = 0
        started = time.monotonic()
        try:
            while not self._stop.is_set():
                if self.rate and (pause := started + index / self.rate - time.monotonic()) > 0:
                    time.sleep(pause)
                if not self._slots.acquire(timeout=0.5):
                    connection.process_data_events(0)
                    continue
                if self._stop.is_set():
                    break
                key = uuid.uuid4().hex
                with self._lock:
                    self._sent[key] = time.monotonic()
                channel.basic_publish(
                    cfg.RABBITMQ_ALEPH_EXCHANGE,
                    cfg.RABBITMQ_ALEPH_DAEMON_KEY,
                    self.make(index),
                    pika.BasicProperties(
                        content_type="application/json", delivery_mode=2, headers={"UUID": key}
                    ),
                )
                index += 1
        finally:
            close_quietly(connection)

    def _collect(self) -> None:
        connection = pika.BlockingConnection(connection_parameters(self.settings))
        channel = connection.channel()
        channel.basic_qos(prefetch_count=500)

        def on_answer(_channel: Any, method: Any, properties: Any, _body: bytes) -> None:
            now = time.monotonic()
            headers = properties.headers or {}
            key = headers.get("UUID")
            key = key.decode() if isinstance(key, bytes) else str(key)
            with self._lock:
                sent = self._sent.pop(key, None)
                if sent is not None:
                    self.answers.append((now, now - sent, "exception" in headers))
            channel.basic_ack(method.delivery_tag)
            if sent is not None:
                self._slots.release()

        channel.basic_consume(self.settings.RABBITMQ_ALEPH_PLONE_QUEUE, on_answer)
        self._ready.set()
        try:
            while not self._stop.is_set():
                connection.process_data_events(time_limit=0.2)
        finally:
            close_quietly(connection)
