"""A service built on ``PikaDaemon``, before it runs: what it accepts to connect with
(checked at construction, with errors that say what to pass), the parameters the
settings give it, its defaults, and a generic service's own paths in ``status``."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pika
import pytest
from pika.spec import BasicProperties

from edeposit.amqp import settings
from edeposit.amqp.pikadaemon import (
    DEFAULT_SETTLE_TIMEOUT,
    PikaDaemon,
    ReplyToError,
    connection_parameters,
)
from edeposit.amqp.runtime.backoff import Backoff
from edeposit.amqp.runtime.nodes import Nodes

URL = "amqp://guest:guest@mq.example:5673/tools"


def service(connection: Any, **options: Any) -> PikaDaemon:
    return PikaDaemon(connection, "jobs", pid_filename="jobs", **options)


@pytest.mark.parametrize(
    "given",
    [
        pika.ConnectionParameters(host="mq.example", port=5673, virtual_host="tools"),
        pika.URLParameters(URL),
        URL,
        [URL, pika.ConnectionParameters(host="mq.example", port=5673, virtual_host="tools")],
        (pika.URLParameters(URL),),
    ],
    ids=["ConnectionParameters", "URLParameters", "URL", "list", "tuple"],
)
def test_every_form_is_accepted_and_read_the_same(given: Any) -> None:
    daemon = service(given)
    assert daemon.connection_param is given, "kept as given"
    nodes = Nodes(daemon.connection_param, Backoff(0.25, 30.0))
    assert {(node.host, node.port, node.virtual_host) for node in nodes.all} == {
        ("mq.example", 5673, "tools")
    }


def test_an_amqps_url_connects_with_tls() -> None:
    [node] = Nodes("amqps://guest:guest@mq.example/tools", Backoff(0.25, 30.0)).all
    assert node.port == 5671
    assert isinstance(node.ssl_options.context, ssl.SSLContext)


def test_a_url_without_a_connection_name_gets_this_processs() -> None:
    given = pika.URLParameters(URL)
    [node] = Nodes(given, Backoff(0.25, 30.0)).all
    name = node.client_properties["connection_name"]
    assert name.rpartition(":")[2].isdigit() and "@" in name
    assert given.client_properties is None, "the caller's parameters are not changed"


@pytest.mark.parametrize(
    ("given", "error", "says"),
    [
        (42, TypeError, "cannot connect to int 42"),
        ({"host": "mq"}, TypeError, "cannot connect to dict {'host': 'mq'}"),
        ("mq.example:5672", TypeError, "'mq.example:5672': not an AMQP URL"),
        ("http://mq.example/", TypeError, "not an AMQP URL"),
        ([URL, 5672], TypeError, "cannot connect to int 5672 (in a list of nodes)"),
        ([], ValueError, "no broker node to connect to (an empty list)"),
        ("amqp://mq.example:notaport/v", ValueError, "cannot read the broker URL"),
        ("amqp://mq.example/v?bogus=1", ValueError, "Unknown URL parameter: 'bogus'"),
    ],
)
def test_anything_else_is_refused_at_construction_saying_what_to_pass(
    given: Any, error: type[Exception], says: str
) -> None:
    with pytest.raises(error) as raised:
        service(given)
    message = str(raised.value)
    assert says in message
    if error is TypeError:
        assert "pika.ConnectionParameters or pika.URLParameters" in message
        assert "amqp:// or amqps:// URL" in message


def test_a_refused_url_never_shows_its_password() -> None:
    with pytest.raises(TypeError) as raised:
        service("https://robot:s3cret@mq.example/")
    assert "s3cret" not in str(raised.value)
    assert "robot:***@mq.example" in str(raised.value)


def test_connection_parameters_come_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = tmp_path / "password"
    password.write_text("from-the-file\n", encoding="utf-8")
    monkeypatch.setenv("RABBITMQ_NODES", "mq-a:5672,mq-b:5673")
    monkeypatch.setenv("RABBITMQ_ALEPH_VIRTUALHOST", "the-default")
    monkeypatch.setenv("RABBITMQ_USER_NAME", "robot")
    monkeypatch.setenv("RABBITMQ_USER_PASSWORD_FILE", str(password))
    settings.reload()

    nodes = connection_parameters()
    assert sorted((node.host, node.port) for node in nodes) == [("mq-a", 5672), ("mq-b", 5673)]
    assert {node.virtual_host for node in nodes} == {"the-default"}
    assert {(node.credentials.username, node.credentials.password) for node in nodes} == {
        ("robot", "from-the-file")
    }
    assert {node.virtual_host for node in connection_parameters("tools")} == {"tools"}
    assert service(nodes).connection_param == nodes, "what the constructor takes"


def test_connection_parameters_use_tls_when_the_settings_say_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RABBITMQ_USE_TLS", "true")
    monkeypatch.setenv("RABBITMQ_PORT", "5671")
    settings.reload()
    [node] = connection_parameters("tools")
    assert node.port == 5671 and node.ssl_options is not None


def test_defaults_a_service_can_rely_on() -> None:
    daemon = service(URL)
    assert daemon.settle_timeout == DEFAULT_SETTLE_TIMEOUT == 300.0
    assert service(URL, settle_timeout=None).settle_timeout is None, "never, when asked"
    assert (daemon.output_exchange, daemon.output_key) == ("", "")
    with pytest.raises(ValueError, match="sendResponse has nowhere to publish"):
        daemon.sendResponse(b"x", UUID="u")


def test_reply_needs_a_reply_to_and_a_message_being_handled() -> None:
    daemon = service(URL)
    with pytest.raises(ReplyToError, match="names no reply_to"):
        daemon.reply(BasicProperties(), b"answer")
    with pytest.raises(RuntimeError, match=r"reply\(\) work inside a handler"):
        daemon.reply(BasicProperties(reply_to="amq.gen-abc"), b"answer")
    assert not daemon.reply_to_allowed("jobs"), "its own queue: the answer would loop"
    assert daemon.reply_to_allowed("amq.gen-abc") and daemon.reply_to_allowed("results")


def test_a_generic_services_status_names_its_own_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    daemon = service(URL)
    assert daemon.pid_path == tmp_path / "edeposit" / "jobs.pid"
    assert daemon.state_path == tmp_path / "edeposit" / "jobs.state.json"
    assert daemon.log_path == tmp_path / "edeposit" / "jobs.log"
    assert daemon.status() == 3
    shown = capsys.readouterr().out
    assert shown == f"not running (pidfile {daemon.pid_path}; also looked in /run/jobs)\n"
