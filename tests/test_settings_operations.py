"""Settings for production: the password from a file, log format, metrics endpoint, and the
settings reference generated from the Settings class."""

from __future__ import annotations

from pathlib import Path

import pytest

from edeposit.amqp import settings_doc
from edeposit.amqp.config import ConfigError, Settings, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SECRET = "pa55-from-a-file"


def test_password_file_replaces_the_password(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(SECRET + "\n")
    loaded = load_settings(
        {"RABBITMQ_USER_PASSWORD": "other", "RABBITMQ_USER_PASSWORD_FILE": str(secret)}, files=[]
    )
    assert loaded.RABBITMQ_USER_PASSWORD == SECRET
    assert SECRET not in repr(loaded)


def test_relative_password_file_is_a_systemd_credential(tmp_path: Path) -> None:
    (tmp_path / "rabbitmq-password").write_text(SECRET)
    environ = {
        "RABBITMQ_USER_PASSWORD_FILE": "rabbitmq-password",
        "CREDENTIALS_DIRECTORY": str(tmp_path),
    }
    loaded = load_settings(environ, files=[])
    assert loaded.RABBITMQ_USER_PASSWORD == SECRET


@pytest.mark.parametrize("content", [None, "", "\n"])
def test_unusable_password_file_is_a_clear_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "password"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings({"RABBITMQ_USER_PASSWORD_FILE": str(path)}, files=[])
    assert str(path) in str(caught.value)
    assert "RABBITMQ_USER_PASSWORD_FILE" in str(caught.value)


def test_password_file_error_never_shows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_bytes(b"\xff" + SECRET.encode())
    with pytest.raises(ConfigError) as caught:
        load_settings({"RABBITMQ_USER_PASSWORD_FILE": str(path)}, files=[])
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be text or json"),
        ("ALEPH_DAEMON_METRICS_PORT", "70000", "ALEPH_DAEMON_METRICS_PORT must be 0-65535"),
        ("ALEPH_DAEMON_START_TIMEOUT", "0", "ALEPH_DAEMON_START_TIMEOUT must be positive"),
    ],
)
def test_operations_settings_are_checked(key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings({key: value}, files=[])


def test_operations_defaults() -> None:
    defaults = Settings()
    assert defaults.LOG_FORMAT == "text"
    assert defaults.ALEPH_DAEMON_METRICS_PORT == 0
    assert defaults.ALEPH_DAEMON_METRICS_HOST == "127.0.0.1"
    assert defaults.RABBITMQ_USER_PASSWORD_FILE == ""


def test_settings_reference_is_generated_from_the_settings_class() -> None:
    committed = (PROJECT_ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == settings_doc.render(), (
        "docs/settings.md is stale: python -m edeposit.amqp.settings_doc > docs/settings.md"
    )


def test_settings_reference_lists_every_setting_with_a_meaning() -> None:
    text = settings_doc.render()
    for name in Settings.__dataclass_fields__:
        [row] = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
        assert not row.endswith("|  |"), f"{name} has no #: comment in config.py"
