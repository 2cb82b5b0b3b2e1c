"""The commands as a user meets them: options anywhere, exit codes that tell "invalid" from
"nobody answered", a hint when no daemon runs, quiet broken pipes, error messages that say
who failed, a client that cleans up its queue, and a demo that keeps to itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pika.exceptions
import pytest

from edeposit.amqp import aleph
from edeposit.amqp.client import AlephClient
from edeposit.amqp.serializers import serialize
from tests.services.support import DaemonFactory, Peer, daemon_log


def aleph_command(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.cli", *arguments],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_options_after_the_subcommand_and_exit_codes(
    start_daemon: DaemonFactory, broker_env: dict[str, str]
) -> None:
    start_daemon()
    found = aleph_command(broker_env, "search", "--isbn", "80-251-0225-4", "--timeout", "20")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[-1] == "(1 record)"
    assert found.stderr == "", "no warning while a daemon consumes"
    assert aleph_command(broker_env, "--timeout", "20", "validate", "80-251-0225-4").returncode == 0
    invalid = aleph_command(broker_env, "validate", "80-251-0225-5", "--timeout", "20")
    assert (invalid.returncode, invalid.stdout) == (1, "80-251-0225-5: invalid\n")


def test_who_failed_is_said(
    start_daemon: DaemonFactory, broker_env: dict[str, str], tmp_path: Path
) -> None:
    start_daemon()
    missing = aleph_command(broker_env, "search", "--doc", "999999998")
    assert missing.returncode == 4
    assert missing.stderr.startswith("aleph: the catalogue answered DocumentNotFoundException")
    publication = tmp_path / "publication.json"
    publication.write_text(serialize(aleph.EPublication.empty(nazev="No ISBN")))
    refused = aleph_command(broker_env, "export", str(publication))
    assert refused.returncode == 4
    assert refused.stderr.startswith(
        "aleph: the daemon answered with an error, InvalidISBNException"
    )


def test_without_a_daemon_a_hint_at_once_and_its_own_exit_code(
    peer: Peer, broker_env: dict[str, str]
) -> None:
    started = time.monotonic()
    waited = aleph_command(broker_env, "count", "--isbn", "80-251-0225-4", "--timeout", "1")
    assert waited.returncode == 3
    first, *rest = waited.stderr.splitlines()
    assert "no daemon consumes queue 'daemon' right now; is alephdaemon running?" in first
    assert "no answer within 1 s" in rest[-1] and "alephdaemon status" in rest[-1]
    assert time.monotonic() - started < 15


def test_a_closed_pipe_is_quiet(start_daemon: DaemonFactory, broker_env: dict[str, str]) -> None:
    start_daemon()
    process = subprocess.Popen(
        [sys.executable, "-m", "edeposit.amqp.cli", "search", "--author", "a", "--json"],
        env={**os.environ, **broker_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head -0`: the reader is gone before the answer
    assert process.wait(60) == 141
    assert process.stderr.read() == ""
    process.stderr.close()


def test_the_client_deletes_its_answer_queue(start_daemon: DaemonFactory, peer: Peer) -> None:
    start_daemon()
    with AlephClient(timeout=20) as client:
        assert client.count(aleph.ISBNQuery("80-251-0225-4")) == 1
        assert client.daemon_consumers() == 1
        assert peer.consumers(client.reply_queue) == 1
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as gone:
        peer.queue_size(client.reply_queue)
    assert gone.value.reply_code == 404


def test_the_demo_keeps_to_its_own_queues(
    start_daemon: DaemonFactory, peer: Peer, broker_env: dict[str, str], tmp_path: Path
) -> None:
    start_daemon()  # someone else's daemon, serving the vhost
    demo = subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.demo"],
        env={**os.environ, **broker_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Umění programování v UNIXu" in demo.stdout
    assert "answered (" not in daemon_log(tmp_path, 0), "the other daemon got the request"
    assert peer.queue_size(peer.settings.RABBITMQ_ALEPH_PLONE_QUEUE) == 0
    names = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "list_queues",
            "-p",
            broker_env["RABBITMQ_ALEPH_VIRTUALHOST"],
            "name",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert not [name for name in names if name.startswith("edeposit-demo-")], names


def test_settings_errors_exit_78(broker_env: dict[str, str]) -> None:
    broken = aleph_command({**broker_env, "RABBITMQ_PORT": "x"}, "validate", "1")
    assert broken.returncode == 78 and "RABBITMQ_PORT" in broken.stderr
    unreachable = aleph_command({**broker_env, "RABBITMQ_PORT": "5999"}, "validate", "1")
    assert unreachable.returncode == 5
    assert unreachable.stderr.startswith("aleph: cannot reach the broker")
    assert json.dumps(unreachable.stderr)  # one readable line, no traceback
    assert "Traceback" not in unreachable.stderr
