"""A hostile client at the AMQP level: Hypothesis writes the messages, a daemon must cope.

Each batch is a few messages drawn by Hypothesis — header tables of every field type,
nested and up to the frame's size, odd ``UUID`` / ``reply_to`` / ``correlation_id``
values, bodies up to past the size limit — sent to a running daemon on a private node,
with valid requests alongside. After each batch: every valid request was answered
exactly once, every error answer names an error of the project's tree (not a bare
``ValueError``), the daemon still runs and still consumes. The suite runs about a minute
of it (tests/reliability/test_amqp_fuzz.py); this command searches longer::

    .venv/bin/python bench/amqp_fuzz.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import struct
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pika
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(HERE.parent))

from bench.brokers import PrivateNode  # noqa: E402
from bench.faults import nested_table  # noqa: E402
from bench.hostile_scenarios import HostileRun, count_request  # noqa: E402
from bench.traffic import close_quietly  # noqa: E402
from edeposit.amqp import settings as settings_module  # noqa: E402
from edeposit.amqp.errors import EdepositAMQPError  # noqa: E402
from edeposit.amqp.runtime import frames  # noqa: E402
from edeposit.amqp.runtime.frame_limits import properties_size  # noqa: E402
from edeposit.amqp.runtime.frames import RawField  # noqa: E402

__all__ = ["Fuzzer", "hostile_messages"]

#: The publisher's own frame (the broker's frame_max less a margin): larger header
#: tables would close the fuzzer's connection, not test the daemon.
HEADER_ROOM = 120_000
#: A body this long is over the daemon's limit (ALEPH_DAEMON_MAX_BODY_BYTES, 1 MiB).
OVER_LIMIT = 1024 * 1024 + 7

_texts = st.text(max_size=40)


def _error_names(root: type[BaseException] = EdepositAMQPError) -> set[str]:
    """The names an error answer may carry: the project's error tree (DESIGN §4)."""
    return {root.__name__}.union(*(_error_names(child) for child in root.__subclasses__()))


#: A bare ``ValueError`` or ``KeyError`` in an answer is a failure the daemon did not name.
ERROR_NAMES = _error_names()


def _raw_fields() -> st.SearchStrategy[RawField]:
    """Field values RabbitMQ accepts whatever pika makes of them."""
    return st.one_of(
        st.integers(0, 2**64 - 1).map(lambda n: RawField(b"T" + struct.pack(">Q", n))),
        st.integers(-(2**31), 2**31 - 1).map(lambda n: RawField(b"D" + struct.pack(">Bi", 200, n))),
        st.just(RawField(b"V")),
        st.integers(1, 700).map(nested_table),
        st.binary(max_size=64).map(lambda b: RawField(b"x" + struct.pack(">I", len(b)) + b)),
        st.floats(width=32).map(lambda f: RawField(b"f" + struct.pack(">f", f))),
    )


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.datetimes(min_value=datetime.datetime(1970, 1, 1), max_value=datetime.datetime(9999, 1, 1)),
    st.decimals(min_value=-(10**6), max_value=10**6, places=2).map(decimal.Decimal),
    _raw_fields(),
    st.integers(1, 100_000).map(lambda n: "u" * n),  # long texts, up to the frame
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(_texts, inner, max_size=5)
    ),
    max_leaves=20,
)
_uuids = st.one_of(
    st.text(min_size=1, max_size=60),
    st.integers(1, 120_000).map(lambda n: "U" * n),  # up to a frame: unanswerable
    st.binary(max_size=60),
    st.integers(-(2**63), 2**63 - 1),
    st.dictionaries(_texts, _scalars, max_size=3),
    st.lists(_scalars, max_size=3),
    _raw_fields(),
)
_reply_to = st.one_of(
    st.none(),
    st.sampled_from(["", "daemon", "plone", "daemon.dead", "amq.gen-x", "amq.rabbitmq.reply-to"]),
    st.text(max_size=255).filter(lambda t: len(t.encode()) <= 255),
)
_bodies = st.one_of(
    st.binary(max_size=2000),
    st.just(count_request()),
    st.builds(lambda name: json.dumps({"__nt_name": name}).encode(), st.text(max_size=200_000)),
    st.builds(lambda n: b"[" * n, st.integers(1, 100_000)),
    st.just(b"x" * OVER_LIMIT),
    st.builds(
        lambda key, value: json.dumps(
            {"query": {"__nt_name": "ISBNQuery", key: value}, "__nt_name": "CountRequest"}
        ).encode(),
        _texts,
        st.one_of(st.text(max_size=100), st.integers(), st.none(), st.lists(st.integers())),
    ),
)


@st.composite
def hostile_messages(draw: st.DrawFn) -> tuple[bytes, pika.BasicProperties]:
    """One hostile message: a body and properties whose header table fits a frame."""
    headers: dict[str, Any] = draw(st.dictionaries(_texts, _values, max_size=6))
    if draw(st.booleans()):
        headers["UUID"] = draw(_uuids)
    properties = pika.BasicProperties(
        headers=headers,
        reply_to=draw(_reply_to),
        correlation_id=draw(st.one_of(st.none(), st.text(max_size=80))),
        content_type=draw(st.sampled_from(["application/json", "text/plain", None])),
        delivery_mode=draw(st.sampled_from([1, 2, None])),
    )
    try:
        size = properties_size(properties)
    except Exception:  # noqa: BLE001 - pika cannot encode it: drop the extra headers
        properties.headers = {"UUID": "unencodable-" + uuid.uuid4().hex}
        size = 0
    if size > HEADER_ROOM:
        properties.headers = {"UUID": "oversized-" + uuid.uuid4().hex}
    return draw(_bodies), properties


class Fuzzer:
    """One daemon on a private node, its answer collector and a publisher of batches."""

    def __init__(self, workdir: Path, node: PrivateNode) -> None:
        frames.install()  # the fuzzer's own publisher writes raw header fields
        self.run = HostileRun(workdir, node, ALEPH_DAEMON_WORKERS="8")
        self.run.start_daemons(1)
        self.connection = self.run.broker.connect()
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.batches = 0
        self.messages = 0
        self.valid = 0

    def batch(self, hostile: list[tuple[bytes, pika.BasicProperties]]) -> None:
        """Send ``hostile`` and three valid requests; check the fleet after it.

        Raises:
            AssertionError: a valid request was lost or answered twice, or the daemon
                stopped running or consuming.
        """
        valid = [str(uuid.uuid4()) for _ in range(3)]
        for body, properties in hostile:
            self._publish(body, properties)
        for key in valid:
            properties = pika.BasicProperties(
                content_type="application/json", delivery_mode=2, headers={"UUID": key}
            )
            self._publish(count_request(), properties)
        assert self.run.collector.wait_for(valid, 60), "a valid request was not answered"
        answers = self.run.collector.answers
        assert all(len(answers[key]) == 1 for key in valid), "a valid request answered twice"
        unnamed = set(self.run.collector.errors) - ERROR_NAMES
        assert not unnamed, f"answered with errors outside the project's tree: {sorted(unnamed)}"
        assert self.run.fleet.alive(), "the daemon died:\n" + self.run.logs()[-3000:]
        consumers = self.run.broker.queue_state(self.run.queue)[1]
        assert consumers == 1, "the daemon no longer consumes"
        self.batches += 1
        self.messages += len(hostile)
        self.valid += len(valid)

    def _publish(self, body: bytes, properties: pika.BasicProperties) -> None:
        cfg = self.run.broker.settings
        exchange, key = cfg.RABBITMQ_ALEPH_EXCHANGE, cfg.RABBITMQ_ALEPH_DAEMON_KEY
        try:
            self.channel.basic_publish(exchange, key, body, properties)
        except (pika.exceptions.AMQPError, OSError):  # refused by the broker: reconnect
            close_quietly(self.connection)
            self.connection = self.run.broker.connect()
            self.channel = self.connection.channel()
            self.channel.confirm_delivery()

    def figures(self) -> dict[str, Any]:
        logs = self.run.logs()
        return {
            "batches": self.batches,
            "hostile_messages": self.messages,
            "valid_requests": self.valid,
            "daemon_alive": bool(self.run.fleet.alive()),
            "connections_lost": logs.count("connection closed"),
            "longest_log_line": max((len(line) for line in logs.splitlines()), default=0),
            "errors_answered": dict(self.run.collector.errors),
        }

    def close(self) -> None:
        close_quietly(self.connection)
        self.run.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to search (10)")
    arguments = parser.parse_args(argv)
    settings_module.reload()
    deadline = time.monotonic() + arguments.minutes * 60
    with tempfile.TemporaryDirectory(prefix="edeposit-fuzz-") as tmp, PrivateNode() as node:
        fuzzer = Fuzzer(Path(tmp), node)
        started = time.monotonic()

        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(st.lists(hostile_messages(), min_size=1, max_size=5))
        def search(hostile: list[tuple[bytes, pika.BasicProperties]]) -> None:
            fuzzer.batch(hostile)

        try:
            while time.monotonic() < deadline:
                search()  # 25 batches a round, each round from a fresh random seed
                print(
                    f"   {fuzzer.batches} batches, {fuzzer.messages} hostile messages", flush=True
                )
            print(json.dumps({**fuzzer.figures(), "seconds": round(time.monotonic() - started)}))
            return 0
        except AssertionError as failure:
            print(f"FOUND: {failure}\n{json.dumps(fuzzer.figures())}")
            return 1
        finally:
            fuzzer.close()


if __name__ == "__main__":
    sys.exit(main())
