"""Settings: names and defaults, the override chain, clear errors, and a password never shown."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edeposit.amqp import config, config_values, settings
from edeposit.amqp.config import ConfigError, Settings, load_settings

#: DESIGN §6: the settings every client knows, with their defaults.
CONTRACT_DEFAULTS: dict[str, Any] = {
    "RABBITMQ_HOST": "127.0.0.1",
    "RABBITMQ_PORT": 5672,
    "RABBITMQ_USER_NAME": "guest",
    "RABBITMQ_USER_PASSWORD": "guest",
    "RABBITMQ_ALEPH_VIRTUALHOST": "aleph",
    "RABBITMQ_ALEPH_DAEMON_QUEUE": "daemon",
    "RABBITMQ_ALEPH_PLONE_QUEUE": "plone",
    "RABBITMQ_ALEPH_EXCHANGE": "search",
    "RABBITMQ_ALEPH_DAEMON_KEY": "request",
    "RABBITMQ_ALEPH_PLONE_KEY": "result",
    "RABBITMQ_ALEPH_EXCEPTION_KEY": "exception",
    "ALEPH_URL": "http://aleph.nkp.cz",
    "ALEPH_DEFAULT_BASE": "nkc",
    "ALEPH_DEFAULT_LIBRARY": "NKC01",
    "ALEPH_EXPORT_URL": "http://aleph.nkp.cz/aleph-cgi/e-deposit",
}

SECRET = "s3cr3t-Pa55word"
NUMERIC_SECRET = 987654321


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def home_file() -> Path:
    return Path(os.environ["HOME"]) / "edeposit" / "amqp.json"


def config_error(**options: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**options)
    return str(caught.value)


def reload_error() -> str:
    with pytest.raises(ConfigError) as caught:
        settings.reload()
    return str(caught.value)


# --- names and defaults -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "default"), CONTRACT_DEFAULTS.items())
def test_contract_names_and_defaults(name: str, default: Any) -> None:
    assert getattr(settings, name) == default
    assert type(getattr(settings, name)) is type(default)
    assert getattr(Settings(), name) == default
    assert getattr(settings.get(), name) == default


def test_the_documentation_example_names() -> None:
    assert settings.RABBITMQ_ALEPH_EXCHANGE == "search"
    assert settings.RABBITMQ_ALEPH_DAEMON_KEY == "request"
    assert settings.RABBITMQ_ALEPH_PLONE_QUEUE == "plone"


def test_every_setting_is_a_module_attribute_and_in_dir() -> None:
    names = [field.name for field in dataclasses.fields(Settings)]
    assert set(CONTRACT_DEFAULTS) <= set(names)
    listed = dir(settings)
    for name in names:
        assert name in listed
        assert getattr(settings, name) == getattr(settings.get(), name)
    assert {"get", "reload", "Settings", "ConfigError"} <= set(listed)


def test_unknown_attribute_names_itself() -> None:
    with pytest.raises(AttributeError, match="RABBITMQ_HSOT"):
        _ = settings.RABBITMQ_HSOT
    assert not hasattr(settings, "__wrapped__")


def test_settings_are_read_once_and_frozen() -> None:
    assert settings.get() is settings.get()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.get().RABBITMQ_HOST = "elsewhere"  # type: ignore[misc]


def test_sources_are_read_again_on_reload(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings object is reused until reload(): then a changed environment shows."""
    monkeypatch.setenv("RABBITMQ_HOST", "broker.example")
    assert settings.RABBITMQ_HOST == "127.0.0.1"  # still the object read before
    settings.reload()
    assert settings.RABBITMQ_HOST == "broker.example"


# --- the override chain ------------------------------------------------------------------------


def test_precedence_with_an_explicit_file_chain(tmp_path: Path) -> None:
    """defaults → /etc → $HOME → EDEPOSIT_AMQP_CONFIG → environment, later wins."""
    etc = write_json(
        tmp_path / "etc.json",
        {
            "RABBITMQ_HOST": "etc",
            "RABBITMQ_PORT": 1001,
            "ALEPH_URL": "http://etc",
            "LOG_LEVEL": "WARNING",
        },
    )
    home = write_json(
        tmp_path / "home.json",
        {"RABBITMQ_PORT": 1002, "ALEPH_URL": "http://home", "ALEPH_TIMEOUT": 2},
    )
    explicit = write_json(
        tmp_path / "explicit.json", {"ALEPH_URL": "http://explicit", "ALEPH_TIMEOUT": 3.5}
    )
    environ = {"ALEPH_TIMEOUT": "4.25"}
    files = [(etc, False), (home, False), (explicit, True)]

    result = load_settings(environ=environ, files=files)
    assert result.RABBITMQ_HOST == "etc"
    assert result.LOG_LEVEL == "WARNING"
    assert result.RABBITMQ_PORT == 1002
    assert result.ALEPH_URL == "http://explicit"
    assert result.ALEPH_TIMEOUT == 4.25
    assert result.RABBITMQ_USER_NAME == "guest"  # untouched: the default

    without_env = load_settings(environ={}, files=files)
    assert without_env.ALEPH_TIMEOUT == 3.5
    only_etc = load_settings(environ={}, files=[(etc, False)])
    assert (only_etc.RABBITMQ_PORT, only_etc.ALEPH_URL) == (1001, "http://etc")


def test_standard_chain_names_etc_home_and_the_explicit_file(tmp_path: Path) -> None:
    explicit = tmp_path / "explicit.json"
    chain = config.config_files({"HOME": "/home/u", "EDEPOSIT_AMQP_CONFIG": str(explicit)})
    assert chain == [
        (Path("/etc/edeposit/amqp.json"), False),
        (Path("/home/u/edeposit/amqp.json"), False),
        (explicit, True),
    ]
    assert config.config_files({}) == [(Path("/etc/edeposit/amqp.json"), False)]
    relocated = config.config_files({"EDEPOSIT_AMQP_SYSTEM_CONFIG": "/srv/amqp.json"})
    assert relocated == [(Path("/srv/amqp.json"), False)]


def test_tests_read_a_fake_system_file_never_etc() -> None:
    system = Path(os.environ["EDEPOSIT_AMQP_SYSTEM_CONFIG"])
    assert not system.is_relative_to("/etc")
    write_json(system, {"RABBITMQ_HOST": "system", "ALEPH_DEFAULT_BASE": "sys"})
    assert settings.reload().RABBITMQ_HOST == "system"
    write_json(home_file(), {"RABBITMQ_HOST": "home"})  # the chain goes on after it
    assert (settings.reload().RABBITMQ_HOST, settings.ALEPH_DEFAULT_BASE) == ("home", "sys")
    # Daemons and tools started by tests inherit the environment, so they read it too.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from edeposit.amqp import settings; print(settings.ALEPH_DEFAULT_BASE)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert child.stdout.strip() == "sys"


def test_precedence_through_home_config_variable_and_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_json(
        home_file(),
        {"RABBITMQ_HOST": "home", "RABBITMQ_PORT": 2001, "ALEPH_DEFAULT_BASE": "home"},
    )
    assert settings.reload().RABBITMQ_HOST == "home"
    assert settings.RABBITMQ_PORT == 2001

    explicit = write_json(
        tmp_path / "amqp.json", {"RABBITMQ_PORT": 2002, "ALEPH_DEFAULT_BASE": "ckc"}
    )
    monkeypatch.setenv("EDEPOSIT_AMQP_CONFIG", str(explicit))
    settings.reload()
    assert (settings.RABBITMQ_HOST, settings.RABBITMQ_PORT) == ("home", 2002)
    assert settings.ALEPH_DEFAULT_BASE == "ckc"

    monkeypatch.setenv("RABBITMQ_PORT", "2003")
    monkeypatch.setenv("RABBITMQ_USE_TLS", "yes")
    settings.reload()
    assert (settings.RABBITMQ_HOST, settings.RABBITMQ_PORT) == ("home", 2003)
    assert settings.RABBITMQ_USE_TLS is True
    assert settings.ALEPH_DEFAULT_BASE == "ckc"


def test_a_missing_home_file_is_skipped() -> None:
    assert not home_file().exists()
    assert settings.reload() == Settings()


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("RABBITMQ_PORT", "5673", 5673),
        ("RABBITMQ_PORT", " 5673 ", 5673),
        ("ALEPH_TIMEOUT", "2.5", 2.5),
        ("ALEPH_TIMEOUT", "3", 3.0),
        ("ALEPH_RATE_LIMIT", "0", 0.0),
        ("RABBITMQ_USE_TLS", "true", True),
        ("RABBITMQ_USE_TLS", "YES", True),
        ("RABBITMQ_USE_TLS", "1", True),
        ("RABBITMQ_USE_TLS", "on", True),
        ("RABBITMQ_TLS_VERIFY_HOSTNAME", "false", False),
        ("RABBITMQ_TLS_VERIFY_HOSTNAME", "no", False),
        ("RABBITMQ_TLS_VERIFY_HOSTNAME", "0", False),
        ("RABBITMQ_TLS_VERIFY_HOSTNAME", "Off", False),
        ("RABBITMQ_HOST", " spaced ", " spaced "),
        ("RABBITMQ_USER_PASSWORD", "12345", "12345"),
    ],
)
def test_environment_values_are_parsed_to_their_type(
    monkeypatch: pytest.MonkeyPatch, name: str, text: str, expected: Any
) -> None:
    monkeypatch.setenv(name, text)
    value = getattr(settings.reload(), name)
    assert value == expected
    assert type(value) is type(expected)


def test_json_integer_is_accepted_for_a_float_setting(tmp_path: Path) -> None:
    path = write_json(tmp_path / "a.json", {"ALEPH_TIMEOUT": 7})
    value = load_settings(environ={}, files=[(path, True)]).ALEPH_TIMEOUT
    assert value == 7.0
    assert type(value) is float


def test_unrelated_environment_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_SOMETHING_ELSE", "x")
    monkeypatch.setenv("ALEPH", "x")
    assert settings.reload() == Settings()


# --- errors name the file (or variable) and the key ------------------------------------------


def test_unknown_key_in_a_file(tmp_path: Path) -> None:
    path = write_json(tmp_path / "amqp.json", {"RABBITMQ_HOST": "h", "RABBITMQ_HSOT": "h"})
    assert config_error(environ={}, files=[(path, False)]) == (
        f"{path}: unknown setting 'RABBITMQ_HSOT'"
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"RABBITMQ_PORT": "5672"}, "setting RABBITMQ_PORT must be int, not '5672'"),
        ({"RABBITMQ_PORT": 5672.0}, "setting RABBITMQ_PORT must be int, not 5672.0"),
        ({"RABBITMQ_PORT": True}, "setting RABBITMQ_PORT must be int, not True"),
        ({"ALEPH_TIMEOUT": "20"}, "setting ALEPH_TIMEOUT must be float, not '20'"),
        ({"RABBITMQ_USE_TLS": "true"}, "setting RABBITMQ_USE_TLS must be bool, not 'true'"),
        ({"RABBITMQ_USE_TLS": 1}, "setting RABBITMQ_USE_TLS must be bool, not 1"),
        ({"RABBITMQ_HOST": None}, "setting RABBITMQ_HOST must be str, not None"),
        ({"ALEPH_URL": ["http://a"]}, "setting ALEPH_URL must be str, not ['http://a']"),
    ],
)
def test_wrong_type_in_a_file(tmp_path: Path, values: dict[str, Any], expected: str) -> None:
    path = write_json(tmp_path / "amqp.json", values)
    assert config_error(environ={}, files=[(path, False)]) == f"{path}: {expected}"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("RABBITMQ_PORT", "abc", "environment: setting RABBITMQ_PORT must be int, not 'abc'"),
        ("RABBITMQ_PORT", "56.72", "environment: setting RABBITMQ_PORT must be int, not '56.72'"),
        ("ALEPH_TIMEOUT", "fast", "environment: setting ALEPH_TIMEOUT must be float, not 'fast'"),
        (
            "RABBITMQ_USE_TLS",
            "maybe",
            "environment: setting RABBITMQ_USE_TLS must be bool, not 'maybe' (use true/false)",
        ),
        ("RABBITMQ_PORT", "70000", "environment: setting RABBITMQ_PORT must be 1-65535"),
        (
            "ALEPH_DAEMON_WORKERS",
            "0",
            "environment: setting ALEPH_DAEMON_WORKERS must be at least 1",
        ),
        ("ALEPH_TIMEOUT", "0", "environment: setting ALEPH_TIMEOUT must be positive"),
    ],
)
def test_unparsable_environment_value(
    monkeypatch: pytest.MonkeyPatch, name: str, text: str, expected: str
) -> None:
    monkeypatch.setenv(name, text)
    assert reload_error() == expected


def test_file_that_is_not_a_json_object(tmp_path: Path) -> None:
    path = write_json(tmp_path / "amqp.json", ["RABBITMQ_HOST", "h"])
    assert config_error(environ={}, files=[(path, False)]) == (
        f"{path}: settings file must hold a JSON object"
    )


def test_file_with_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "amqp.json"
    path.write_text('{"RABBITMQ_HOST": "h",\n "RABBITMQ_PORT": }', encoding="utf-8")
    message = config_error(environ={}, files=[(path, False)])
    assert message.startswith(f"{path}: not valid JSON: ")
    assert "line 2" in message


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "amqp.json"
    path.write_bytes('{"RABBITMQ_HOST": "Plze\u0148"}'.encode("cp1250"))
    assert config_error(environ={}, files=[(path, False)]).startswith(
        f"{path}: cannot read settings file: "
    )


def test_errors_in_the_home_file_name_it() -> None:
    write_json(home_file(), {"RABBITMQ_PORT": "5672"})
    assert reload_error() == f"{home_file()}: setting RABBITMQ_PORT must be int, not '5672'"


def test_missing_file_named_by_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "amqp.json"
    monkeypatch.setenv("EDEPOSIT_AMQP_CONFIG", str(missing))
    assert reload_error() == f"{missing}: settings file named by EDEPOSIT_AMQP_CONFIG not found"


def test_errors_in_the_file_named_by_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write_json(tmp_path / "site.json", {"ALEPH_URLS": "http://a"})
    monkeypatch.setenv("EDEPOSIT_AMQP_CONFIG", str(path))
    assert reload_error() == f"{path}: unknown setting 'ALEPH_URLS'"


def test_replace_is_validated() -> None:
    changed = Settings().replace(RABBITMQ_PORT=5673, ALEPH_TIMEOUT=1)
    assert (changed.RABBITMQ_PORT, changed.ALEPH_TIMEOUT) == (5673, 1.0)
    with pytest.raises(ConfigError, match=r"replace\(\): setting RABBITMQ_PORT must be int"):
        Settings().replace(RABBITMQ_PORT="5673")
    with pytest.raises(ConfigError, match=r"replace\(\): unknown setting 'NOPE'"):
        Settings().replace(NOPE=1)


def test_wire_generation_is_2014_2015_or_2016(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.ALEPH_WIRE_GENERATION == "2014"
    for generation in ("2015", "2016"):
        monkeypatch.setenv("ALEPH_WIRE_GENERATION", generation)
        assert generation == settings.reload().ALEPH_WIRE_GENERATION
    monkeypatch.setenv("ALEPH_WIRE_GENERATION", "2017")
    assert reload_error() == (
        "environment: setting ALEPH_WIRE_GENERATION must be one of 2014, 2015, 2016, not '2017'"
    )
    with pytest.raises(ConfigError, match="ALEPH_WIRE_GENERATION must be one of 2014, 2015, 2016"):
        Settings().replace(ALEPH_WIRE_GENERATION="")


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
    assert settings.ConfigError is ConfigError


# --- the password is never shown ----------------------------------------------------------------


def test_password_is_masked_in_repr_str_and_describe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_USER_PASSWORD", SECRET)
    current = settings.reload()
    assert current.RABBITMQ_USER_PASSWORD == SECRET
    assert settings.RABBITMQ_USER_PASSWORD == SECRET
    for shown in (repr(current), str(current), repr(current.describe()), f"{current!r}"):
        assert SECRET not in shown
    assert current.describe()["RABBITMQ_USER_PASSWORD"] == "********"
    assert "RABBITMQ_USER_PASSWORD='********'" in repr(current)
    assert current.describe()["RABBITMQ_USER_NAME"] == "guest"
    assert set(current.describe()) == {field.name for field in dataclasses.fields(Settings)}


def test_password_is_masked_in_type_errors(tmp_path: Path) -> None:
    path = write_json(tmp_path / "amqp.json", {"RABBITMQ_USER_PASSWORD": NUMERIC_SECRET})
    message = config_error(environ={}, files=[(path, False)])
    assert message == f"{path}: setting RABBITMQ_USER_PASSWORD must be str, not ********"
    assert str(NUMERIC_SECRET) not in message
    with pytest.raises(ConfigError) as caught:
        Settings().replace(RABBITMQ_USER_PASSWORD=[SECRET])
    assert SECRET not in str(caught.value)
    assert "RABBITMQ_USER_PASSWORD" in str(caught.value)


def test_password_is_not_in_other_errors_from_the_same_file(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "amqp.json", {"RABBITMQ_USER_PASSWORD": SECRET, "RABBITMQ_PORT": "x"}
    )
    message = config_error(environ={}, files=[(path, False)])
    assert "RABBITMQ_PORT" in message
    assert SECRET not in message


def test_setting_types_are_read_from_the_annotations() -> None:
    @dataclasses.dataclass(frozen=True)
    class Example:
        NAME: str | None = None
        NODES: tuple[str, ...] = ()
        LIMIT: float = 1.0

    assert config_values.field_kinds(Example) == {
        "NAME": (str, True),
        "NODES": (tuple, False),
        "LIMIT": (float, False),
    }

    @dataclasses.dataclass(frozen=True)
    class Unsupported:
        TABLE: dict[str, str] = dataclasses.field(default_factory=dict)

    with pytest.raises(TypeError, match="TABLE"):
        config_values.field_kinds(Unsupported)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("ALEPH_FLEET_RATE_LIMIT", -1.0, "cannot be negative"),
        ("ALEPH_CACHE_TTL", -5.0, "cannot be negative"),
        ("ALEPH_CACHE_ENTRIES", -1, "cannot be negative"),
        ("ALEPH_FLEET_SHARE_PERIOD", 0.0, "must be positive"),
    ],
)
def test_fleet_and_cache_settings_are_checked(name: str, value: object, says: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} {says}"):
        Settings().replace(**{name: value})


def test_broker_nodes_default_to_host_and_port() -> None:
    cfg = load_settings({"RABBITMQ_HOST": "mq.example", "RABBITMQ_PORT": "5673"}, files=[])
    assert cfg.RABBITMQ_NODES == ()
    assert cfg.broker_nodes() == (("mq.example", 5673),)


def test_broker_nodes_from_the_environment_and_a_file(tmp_path: Path) -> None:
    environment = {"RABBITMQ_NODES": "mq1:5672, [::1]:5673 ,10.0.0.3:5674"}
    assert load_settings(environment, files=[]).broker_nodes() == (
        ("mq1", 5672),
        ("::1", 5673),
        ("10.0.0.3", 5674),
    )
    path = tmp_path / "amqp.json"
    path.write_text(json.dumps({"RABBITMQ_NODES": ["a:1", "[fe80::1]:5672"]}))
    cfg = load_settings({}, files=[(path, True)])
    assert cfg.RABBITMQ_NODES == ("a:1", "[fe80::1]:5672")
    assert cfg.broker_nodes() == (("a", 1), ("fe80::1", 5672))


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("mq1", "expected host:port"),
        ("mq1:0", "port '0' must be a number 1-65535"),
        ("mq1:70000", "port '70000' must be a number 1-65535"),
        ("mq1:amqp", "port 'amqp' must be a number 1-65535"),
        ("::1:5672", "put an IPv6 address in brackets"),
        (":5672", "expected host:port"),
        ("amqp://mq1:5672", "without a scheme"),
        ("mq 1:5672", "separate nodes with commas"),
        ("mq1:5672;mq2:5672", "separate nodes with commas"),
        ("mq1:5672 mq2:5672", "separate nodes with commas"),
        ("mq1\x00:5672", "is not a host name or address"),
    ],
)
def test_a_malformed_broker_node_names_the_setting_and_the_entry(entry: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"RABBITMQ_NODES": f"good:5672,{entry}"}, files=[])
    message = str(caught.value)
    assert message.startswith(f"environment: setting RABBITMQ_NODES holds {entry!r}")
    assert why in message


def test_a_malformed_broker_node_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "amqp.json"
    path.write_text(json.dumps({"RABBITMQ_NODES": ["mq1:5672", "mq2"]}))
    with pytest.raises(ConfigError, match=rf"{path}: setting RABBITMQ_NODES holds 'mq2'"):
        load_settings({}, files=[(path, True)])
    path.write_text(json.dumps({"RABBITMQ_NODES": "mq1:5672"}))
    with pytest.raises(ConfigError, match="RABBITMQ_NODES must be a list of strings"):
        load_settings({}, files=[(path, True)])
