"""``edeposit-demo``: the whole path once, end to end, on this machine.

Builds the broker topology, starts the Aleph emulator (default corpus) and the Aleph
daemon (a real subprocess), sends the original documentation's request —
``SearchRequest(ISBNQuery("80-251-0225-4"))`` with a ``UUID`` header — reads the answer
from the answer queue, prints it, and stops what it started.

The demo shares the vhost with whatever else runs there, so it routes privately: its
own request and answer queues and routing keys (``edeposit-demo-<id>.request`` …), on
the same exchanges. Its daemon never takes a request meant for a daemon already
serving the vhost, and no such daemon answers the demo's; its queues are deleted at the
end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pika

from edeposit.amqp import __version__, aleph, alephdaemon, amqp_tool, settings
from edeposit.amqp.cli import format_records
from edeposit.amqp.config import ConfigError, Settings
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.runtime.console import CommandParser, quiet_broken_pipe
from edeposit.amqp.runtime.parameters import name_program
from edeposit.amqp.serializers import deserialize, serialize

__all__ = ["main"]

#: Seconds to wait for the daemon to consume, and for the answer.
WAIT = 30.0


def build_parser() -> argparse.ArgumentParser:
    return CommandParser(
        prog="edeposit-demo",
        description="Run the whole path once on this machine: broker topology, the Aleph "
        "emulator, the Aleph daemon, the original documentation's request and its answer. "
        "It uses the configured broker and vhost (RABBITMQ_*) with queues and routing keys "
        "of its own, so it never takes or answers another daemon's requests; it stops and "
        "deletes what it started. Exit 0 when the answer was a result.",
    )


def private_routing() -> dict[str, str]:
    """Settings giving this run queues and routing keys no one else uses."""
    tag = f"edeposit-demo-{uuid.uuid4().hex[:8]}"
    return {
        "RABBITMQ_ALEPH_DAEMON_QUEUE": f"{tag}.requests",
        "RABBITMQ_ALEPH_PLONE_QUEUE": f"{tag}.answers",
        "RABBITMQ_ALEPH_DAEMON_KEY": f"{tag}.request",
        "RABBITMQ_ALEPH_PLONE_KEY": f"{tag}.result",
        "RABBITMQ_ALEPH_EXCEPTION_KEY": f"{tag}.exception",
        "RABBITMQ_ALEPH_QUEUE_TYPE": "classic",
    }


def _delete_queues(config: Settings) -> None:
    with contextlib.suppress(Exception):  # best effort: the broker may be gone
        connection = pika.BlockingConnection(alephdaemon.getConnectionParameters(config))
        channel = connection.channel()
        for queue in (config.RABBITMQ_ALEPH_DAEMON_QUEUE, config.RABBITMQ_ALEPH_PLONE_QUEUE):
            channel.queue_delete(queue)
        connection.close()


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _start_daemon(emulator: AlephEmulator, workdir: Path) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "ALEPH_URL": emulator.url,
        "ALEPH_EXPORT_URL": emulator.export_url,
        "ALEPH_DAEMON_PIDFILE": str(workdir / "alephdaemon.pid"),
    }
    log = (workdir / "alephdaemon.log").open("wb")
    command = [sys.executable, "-m", "edeposit.amqp.alephdaemon", "--foreground"]
    return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


def _wait_for_consumer(
    channel: pika.adapters.blocking_connection.BlockingChannel,
    queue: str,
    daemon: subprocess.Popen[bytes],
) -> None:
    deadline = time.monotonic() + WAIT
    while channel.queue_declare(queue, passive=True).method.consumer_count < 1:
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the Aleph daemon did not start consuming")
        time.sleep(0.1)


def _send_example(config: Settings) -> tuple[str, pika.BlockingConnection]:
    """The original documentation's example, unchanged apart from imports."""
    connection = pika.BlockingConnection(alephdaemon.getConnectionParameters())
    channel = connection.channel()
    json_data = serialize(aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4")))
    request_uuid = str(uuid.uuid4())
    properties = pika.BasicProperties(
        content_type="application/json", delivery_mode=1, headers={"UUID": request_uuid}
    )
    channel.basic_publish(
        exchange=settings.RABBITMQ_ALEPH_EXCHANGE,
        routing_key=settings.RABBITMQ_ALEPH_DAEMON_KEY,
        properties=properties,
        body=json_data,
    )
    print(f"published to {config.RABBITMQ_ALEPH_EXCHANGE}['{config.RABBITMQ_ALEPH_DAEMON_KEY}']")
    print(f"  UUID: {request_uuid}")
    print(f"  body: {json_data}")
    return request_uuid, connection


def _receive(
    connection: pika.BlockingConnection, queue: str, request_uuid: str
) -> tuple[pika.BasicProperties, bytes]:
    """The answer with our UUID; other waiting answers are left in the queue."""
    channel = connection.channel()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue)
        if method is None:
            connection.sleep(0.05)
            continue
        if (properties.headers or {}).get("UUID") == request_uuid:
            channel.basic_ack(method.delivery_tag)
            channel.close()  # unacked answers of other clients go back to the queue
            return properties, body
    raise RuntimeError(f"no answer with UUID {request_uuid} within {WAIT:.0f} s")


def _print_answer(properties: pika.BasicProperties, body: bytes) -> None:
    headers = properties.headers or {}
    print(f"content type {properties.content_type}, headers: {sorted(headers)}")
    if "exception" in headers:
        print(f"ERROR {headers.get('exception_name')}: {headers['exception']}")
        return
    result = deserialize(body)
    print(f"{type(result).__name__} with {len(result.records)} record(s):\n")
    print(format_records(result.records))
    for record in result.records:
        print(f"\nEPublication of {record.base}/{record.library} doc {record.docNumber}:")
        for name, value in record.epublication._asdict().items():
            if value:
                print(f"  {name:21} {value!r}")


@quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    """Run the demo; 0 when the answer arrived and was a result."""
    name_program("edeposit-demo")
    parser = build_parser()
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.parse_args(argv)
    try:
        settings.get()
        os.environ.update(private_routing())  # also for the daemon subprocess
        config = settings.reload()
    except ConfigError as error:
        print(f"edeposit-demo: {error}", file=sys.stderr)
        return 78
    try:
        return _run(config)
    finally:
        _delete_queues(config)


def _run(config: Settings) -> int:
    with tempfile.TemporaryDirectory(prefix="edeposit-demo-") as tmp:
        workdir = Path(tmp)
        _step(
            f"broker topology in vhost '{config.RABBITMQ_ALEPH_VIRTUALHOST}' (amqp_tool --create)"
        )
        print(
            f"with the demo's own queues and keys ({config.RABBITMQ_ALEPH_DAEMON_KEY} …): "
            "daemons already serving this vhost neither see nor answer its request"
        )
        created = amqp_tool.main(["--create"])
        if created != 0:
            return created  # 78: settings, login or vhost; 1: the broker is not there
        _step("Aleph X-Server emulator (default corpus)")
        with AlephEmulator() as emulator:
            print(f"listening on {emulator.url}")
            _step("Aleph daemon (alephdaemon --foreground, a subprocess)")
            daemon = _start_daemon(emulator, workdir)
            try:
                probe = pika.BlockingConnection(alephdaemon.getConnectionParameters())
                _wait_for_consumer(probe.channel(), config.RABBITMQ_ALEPH_DAEMON_QUEUE, daemon)
                probe.close()
                print(f"running, pid {daemon.pid}")
                _step("request: SearchRequest(ISBNQuery('80-251-0225-4'))")
                request_uuid, connection = _send_example(config)
                _step(f"answer from queue '{config.RABBITMQ_ALEPH_PLONE_QUEUE}'")
                properties, body = _receive(
                    connection, config.RABBITMQ_ALEPH_PLONE_QUEUE, request_uuid
                )
                connection.close()
                _print_answer(properties, body)
                failed = "exception" in (properties.headers or {})
            except Exception as error:  # noqa: BLE001 - reported with the daemon's log
                print(f"edeposit-demo: {error}", file=sys.stderr)
                print(
                    (workdir / "alephdaemon.log").read_text(errors="replace")[-3000:],
                    file=sys.stderr,
                )
                return 1
            finally:
                _step("stopping the daemon and the emulator")
                daemon.send_signal(signal.SIGTERM)
                try:
                    print(f"daemon exited with {daemon.wait(timeout=WAIT)}")
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    print("daemon killed: it did not stop in time")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
