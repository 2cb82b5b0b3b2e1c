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
from tests.services.test_aleph_daemon import EXPORTED
from tests.waiting import returns_within

RAYMOND = "80-251-0225-4"


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
    valid = aleph_command(broker_env, "validate", "--isbn", "80-251-0225-4", "--timeout", "20")
    assert (valid.returncode, valid.stdout) == (0, "80-251-0225-4: valid\n")
    invalid = aleph_command(broker_env, "validate", "80-251-0225-5", "--timeout", "20")
    assert (invalid.returncode, invalid.stdout) == (
        1,
        "80-251-0225-5: invalid: its check digit is 5, but the others call for 4\n",
    )
    wrong = aleph_command(broker_env, "validate", "--isbn", "ISBN 80-251-0225-4")
    assert wrong.returncode == 1
    assert "it holds 'ISBN': an ISBN is digits, separated by hyphens or spaces" in wrong.stdout


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


@pytest.mark.parametrize(
    ("override", "told"),
    [
        ({"RABBITMQ_PORT": "x"}, "setting RABBITMQ_PORT must be int"),
        ({"RABBITMQ_USER_PASSWORD": "wrong-secret"}, "login to amqp://127.0.0.1:5672"),
        ({"RABBITMQ_ALEPH_VIRTUALHOST": "edeposit-no-such-vhost"}, "rabbitmqctl add_vhost"),
    ],
    ids=["bad-settings", "refused-login", "missing-vhost"],
)
def test_settings_errors_exit_78_like_alephdaemon(
    broker_env: dict[str, str], override: dict[str, str], told: str
) -> None:
    """Retrying cannot help until an operator changes something: 78, as alephdaemon."""
    refused = aleph_command({**broker_env, **override}, "validate", "1", "--timeout", "30")
    assert refused.returncode == 78, refused.stderr
    [line] = refused.stderr.splitlines()
    assert line.startswith("aleph: ") and told in line
    assert "wrong-secret" not in refused.stderr


def test_an_unreachable_broker_is_told_at_once(broker_env: dict[str, str]) -> None:
    """Nothing listens: the connection is refused at once, and so is the command (no wait
    for RABBITMQ_CONNECT_TIMEOUT, 10 s by default), in one line."""
    # Within 8 s: the old wait alone was 10 s and more, with the start of Python on top.
    unreachable = returns_within(
        8, lambda: aleph_command({**broker_env, "RABBITMQ_PORT": "5999"}, "validate", "1")
    )
    assert unreachable.returncode == 5
    [line] = unreachable.stderr.splitlines()
    assert line.startswith("aleph: cannot reach the broker: broker not reachable: cannot connect")
    assert "127.0.0.1:5999" in line and "Connection refused" in line


def test_json_on_every_subcommand_in_the_daemons_form(
    start_daemon: DaemonFactory, broker_env: dict[str, str], tmp_path: Path
) -> None:
    start_daemon()  # ALEPH_WIRE_GENERATION 2014, the default, here as for the command
    [record] = json.loads(aleph_command(broker_env, "search", "--isbn", RAYMOND, "--json").stdout)
    assert "semantic_info" not in record and len(record["epublication"]) == 19  # 18 + type
    [later] = json.loads(
        aleph_command(
            broker_env, "--json", "search", "--isbn", RAYMOND, "--generation", "2015"
        ).stdout
    )
    # What the 2014 answer lacks is read from the record's MARC, never printed empty.
    assert later["epublication"]["id_number"] == "cpk20051492461"
    assert len(later["epublication"]) == 22 and isinstance(later["epublication"]["url"], list)
    assert later["semantic_info"]["__nt_name"] == "SemanticInfo"
    counted = aleph_command(broker_env, "count", "--isbn", RAYMOND, "--json")
    assert json.loads(counted.stdout) == {"num_of_records": 1, "__nt_name": "CountResult"}
    invalid = aleph_command(broker_env, "validate", "--isbn", "80-251-0225-5", "--json")
    assert invalid.returncode == 1
    assert json.loads(invalid.stdout) == {"is_valid": False, "__nt_name": "ISBNValidationResult"}
    assert invalid.stderr == (
        "aleph: 80-251-0225-5 is not a valid ISBN: its check digit is 5, but the others call"
        " for 4\n"
    )
    publication = tmp_path / "publication.json"
    publication.write_text(serialize(EXPORTED))
    exported = aleph_command(broker_env, "export", str(publication), "--json")
    assert json.loads(exported.stdout) == {"ISBN": "978-80-7367-397-0", "__nt_name": "ExportResult"}


def test_json_of_a_2015_daemon_and_a_settings_file(
    start_daemon: DaemonFactory, broker_env: dict[str, str], tmp_path: Path
) -> None:
    """The command reads the daemon's form from the settings (here a --config file)."""
    start_daemon(ALEPH_WIRE_GENERATION="2015")
    config = tmp_path / "site.json"
    config.write_text(
        json.dumps(
            {
                "RABBITMQ_ALEPH_VIRTUALHOST": broker_env["RABBITMQ_ALEPH_VIRTUALHOST"],
                "ALEPH_WIRE_GENERATION": "2015",
            }
        )
    )
    # The vhost comes from the file only (the fixture put it in this process's environment).
    environment = {k: v for k, v in os.environ.items() if k != "RABBITMQ_ALEPH_VIRTUALHOST"}
    command = ["--config", str(config), "search", "--isbn", RAYMOND, "--json"]
    found = subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.cli", *command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    [record] = json.loads(found.stdout)
    assert record["epublication"]["id_number"] == "cpk20051492461"
    assert record["semantic_info"]["__nt_name"] == "SemanticInfo"
