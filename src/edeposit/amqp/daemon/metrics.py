"""The Aleph daemon's Prometheus metrics, in a registry of its own.

One :class:`DaemonMetrics` per daemon (never the process-global registry, so tests and
benchmarks can run several in one process). Counters and histograms are updated where
things happen — a request answered, a catalogue call ended
(:class:`CatalogueMetrics`, the catalogue's observer) — and the live values (requests
in flight, broker connected, reconnects) are read when Prometheus scrapes, so they cost
nothing per request.

=========================================== =========================================
``edeposit_requests_total{kind,outcome}``   requests answered; outcome ``result``,
                                            ``refused`` (invalid request, the
                                            catalogue said no), ``overloaded`` (the
                                            catalogue's budget could not serve it in
                                            time) or ``failed``
``edeposit_request_duration_seconds{kind}`` receipt to confirmed answer (histogram)
``edeposit_requests_in_flight``             deliveries being handled
``edeposit_catalogue_calls_total{op,outcome}`` X-Services/export calls; ``ok`` or the
                                            error's class
``edeposit_catalogue_call_duration_seconds{op}`` per call, retries included
``edeposit_catalogue_retries_total{op}``    attempts repeated after a failure
``edeposit_rate_limit_wait_seconds``        waits for ALEPH_RATE_LIMIT (histogram)
``edeposit_rate_limit_calls_per_second``    the pace now: ALEPH_RATE_LIMIT, or this
                                            daemon's share of ALEPH_FLEET_RATE_LIMIT
                                            when stricter (0 = none)
``edeposit_cache_hits_total{kind}``         searches/counts answered from the cache
``edeposit_cache_misses_total{kind}``       … looked up there and not found
``edeposit_broker_connected``               1 while consuming
``edeposit_broker_node{node}``              1 for the node connected to (``host:port``)
``edeposit_broker_reconnects_total``        connections after the first
``edeposit_dropped_total{reason}``          messages dropped unanswered
``edeposit_overloaded_total``               requests answered AlephOverloadedError:
                                            the daemon's own overload, not the
                                            catalogue's failure
``edeposit_reply_to_refused_total``         ``reply_to`` copies refused (ALEPH_REPLY_TO)
``edeposit_reply_copies_failed_total``      ``reply_to`` copies not delivered (the
                                            answer itself went out)
``edeposit_set_aside_total``                requests given up on (handler failed,
                                            released twice, answer refused twice),
                                            answered with SetAsideError where possible
``edeposit_build_info{version,python}``     the running version
=========================================== =========================================
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edeposit.amqp import __version__
from edeposit.amqp.errors import (
    AlephException,
    AlephOverloadedError,
    AlephTransportError,
    ExportException,
    MessageError,
)
from edeposit.amqp.runtime.watch import ConnectionWatch

__all__ = ["DROP_REASONS", "CatalogueMetrics", "DaemonMetrics", "outcome_of"]

#: Daemon counter events that drop a message unanswered → the ``reason`` label.
DROP_REASONS = {
    "dropped_without_uuid": "without_uuid",
    "dropped_undecodable": "undecodable",
    "dead_letters_dropped": "dead_letter",
    "dropped_unanswerable": "unanswerable",
}
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_WAITS = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def outcome_of(error: BaseException | None) -> str:
    """``result``; ``refused`` when the request or the catalogue said no; ``overloaded``
    when the catalogue's budget could not serve it in time; else ``failed``."""
    if error is None:
        return "result"
    if isinstance(error, AlephOverloadedError):
        return "overloaded"
    if isinstance(error, AlephTransportError):
        return "failed"
    if isinstance(error, MessageError | ValueError | AlephException | ExportException):
        return "refused"
    return "failed"


class _Live(Collector):
    """Values read at scrape time from the daemon and its connection."""

    def __init__(
        self,
        in_flight: Callable[[], int],
        watch: Callable[[], ConnectionWatch | None],
        rate_limit: Callable[[], float],
    ) -> None:
        self._in_flight = in_flight
        self._watch = watch
        self._rate_limit = rate_limit

    def collect(self) -> Iterator[Metric]:
        watch = self._watch()
        yield GaugeMetricFamily(
            "edeposit_requests_in_flight", "Deliveries being handled.", value=self._in_flight()
        )
        yield GaugeMetricFamily(
            "edeposit_broker_connected",
            "1 while the daemon's channel is open and consuming.",
            value=1 if watch is not None and watch.ready else 0,
        )
        node = GaugeMetricFamily(
            "edeposit_broker_node",
            "1 for the broker node (host:port) the daemon is connected to and consumes from.",
            labels=["node"],
        )
        if watch is not None and watch.ready and watch.address:
            node.add_metric([watch.address], 1)
        yield node
        yield CounterMetricFamily(
            "edeposit_broker_reconnects",
            "Connections to the broker after the first one.",
            value=watch.reconnects if watch is not None else 0,
        )
        yield GaugeMetricFamily(
            "edeposit_rate_limit_calls_per_second",
            "Catalogue calls per second this daemon is paced at (0 = not limited).",
            value=self._rate_limit(),
        )


class DaemonMetrics:
    """The metrics of one daemon (see the module docstring).

    Args:
        in_flight: the number of requests being handled, read at scrape time.
        watch: the main connection's watch (None before it exists), read at scrape time.
        rate_limit: the catalogue's pace now, calls per second, read at scrape time.
    """

    def __init__(
        self,
        in_flight: Callable[[], int],
        watch: Callable[[], ConnectionWatch | None],
        rate_limit: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "edeposit_requests", "Requests answered.", ["kind", "outcome"], registry=registry
        )
        self.request_duration = Histogram(
            "edeposit_request_duration_seconds",
            "Seconds from a request's receipt to its confirmed answer.",
            ["kind"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.catalogue_calls = Counter(
            "edeposit_catalogue_calls",
            "Calls to the catalogue (X-Services and the export form).",
            ["op", "outcome"],
            registry=registry,
        )
        self.catalogue_duration = Histogram(
            "edeposit_catalogue_call_duration_seconds",
            "Seconds one catalogue call took, retries included.",
            ["op"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.catalogue_retries = Counter(
            "edeposit_catalogue_retries",
            "Catalogue calls tried again after a failure.",
            ["op"],
            registry=registry,
        )
        self.rate_limit_wait = Histogram(
            "edeposit_rate_limit_wait_seconds",
            "Seconds a catalogue call waited for the rate limit (ALEPH_RATE_LIMIT).",
            buckets=_WAITS,
            registry=registry,
        )
        self.cache_hits = Counter(
            "edeposit_cache_hits",
            "Searches and counts answered from the cache (ALEPH_CACHE_TTL).",
            ["kind"],
            registry=registry,
        )
        self.cache_misses = Counter(
            "edeposit_cache_misses",
            "Searches and counts looked up in the cache and not found there.",
            ["kind"],
            registry=registry,
        )
        self.dropped = Counter(
            "edeposit_dropped", "Messages dropped without an answer.", ["reason"], registry=registry
        )
        #: Daemon counter events counted as metrics of their own.
        self.events = {
            "overloaded": Counter(
                "edeposit_overloaded",
                "Requests the catalogue's budget could not serve within their deadline.",
                registry=registry,
            ),
            "reply_to_refused": Counter(
                "edeposit_reply_to_refused",
                "reply_to copies refused: not a reply queue nor allowed by ALEPH_REPLY_TO.",
                registry=registry,
            ),
            "copy_failed": Counter(
                "edeposit_reply_copies_failed",
                "reply_to copies that could not be made or delivered (the answer went out).",
                registry=registry,
            ),
            "set_aside": Counter(
                "edeposit_set_aside",
                "Requests given up on (handler failed, released twice, answer refused twice).",
                registry=registry,
            ),
        }
        Info("edeposit_build", "The running edeposit-amqp.", registry=registry).info(
            {"version": __version__, "python": platform.python_version()}
        )
        registry.register(_Live(in_flight, watch, rate_limit))

    def request_done(self, kind: str, outcome: str, seconds: float) -> None:
        self.requests.labels(kind, outcome).inc()
        self.request_duration.labels(kind).observe(seconds)

    def counted(self, event: str) -> None:
        """A daemon counter event; the dropping ones are counted by reason."""
        reason = DROP_REASONS.get(event)
        if reason is not None:
            self.dropped.labels(reason).inc()
        counter = self.events.get(event)
        if counter is not None:
            counter.inc()


class CatalogueMetrics:
    """The catalogue's observer (:class:`~edeposit.amqp.catalogue.observer.CatalogueObserver`)
    writing into a daemon's metrics."""

    def __init__(self, metrics: DaemonMetrics) -> None:
        self.metrics = metrics

    def call_finished(self, op: str, outcome: str, seconds: float) -> None:
        self.metrics.catalogue_calls.labels(op, outcome).inc()
        self.metrics.catalogue_duration.labels(op).observe(seconds)

    def retried(self, op: str) -> None:
        self.metrics.catalogue_retries.labels(op).inc()

    def rate_limited(self, seconds: float) -> None:
        self.metrics.rate_limit_wait.observe(seconds)

    def cache_looked_up(self, kind: str, hit: bool) -> None:
        (self.metrics.cache_hits if hit else self.metrics.cache_misses).labels(kind).inc()
