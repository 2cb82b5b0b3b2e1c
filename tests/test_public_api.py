"""The documented public names exist with their original spellings (DESIGN §2)."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.resources
import inspect
import tomllib
import typing
from pathlib import Path
from types import ModuleType

import pytest

import edeposit
from edeposit.amqp import aleph, errors, serializers, settings
from tests.wire_samples import MESSAGE_CLASS_NAMES

PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: DESIGN §4: the error names clients act on (``exception_name``).
ERROR_NAMES = [
    "AlephException",
    "InvalidAlephBaseException",
    "InvalidAlephFieldException",
    "LibraryNotFoundException",
    "DocumentNotFoundException",
    "ExportException",
    "InvalidISBNException",
    "ExportRejectedException",
]

SETTING_NAMES = [
    "RABBITMQ_HOST",
    "RABBITMQ_PORT",
    "RABBITMQ_USER_NAME",
    "RABBITMQ_USER_PASSWORD",
    "RABBITMQ_ALEPH_VIRTUALHOST",
    "RABBITMQ_ALEPH_DAEMON_QUEUE",
    "RABBITMQ_ALEPH_PLONE_QUEUE",
    "RABBITMQ_ALEPH_EXCHANGE",
    "RABBITMQ_ALEPH_DAEMON_KEY",
    "RABBITMQ_ALEPH_PLONE_KEY",
    "RABBITMQ_ALEPH_EXCEPTION_KEY",
    "ALEPH_URL",
    "ALEPH_DEFAULT_BASE",
    "ALEPH_DEFAULT_LIBRARY",
    "ALEPH_EXPORT_URL",
]


@pytest.mark.parametrize("name", [*MESSAGE_CLASS_NAMES, *ERROR_NAMES])
def test_aleph_names(name: str) -> None:
    assert name in aleph.__all__
    assert getattr(aleph, name).__name__ == name


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_error_names_are_exceptions_of_the_tree(name: str) -> None:
    error = getattr(aleph, name)
    assert error is getattr(errors, name)
    assert issubclass(error, errors.EdepositAMQPError)
    assert issubclass(error, errors.AlephException | errors.ExportException)


def test_error_tree() -> None:
    for name in ERROR_NAMES[1:5]:
        assert issubclass(getattr(errors, name), errors.AlephException)
    for name in ERROR_NAMES[6:]:
        assert issubclass(getattr(errors, name), errors.ExportException)
    assert issubclass(serializers.DeserializationError, errors.MessageError)
    assert issubclass(errors.MessageError, ValueError)


@pytest.mark.parametrize(
    "name", ["EPublication", "SemanticInfo", "EPeriodical", "EPeriodicalSemanticInfo"]
)
def test_public_constructors_from_a_records_xml(name: str) -> None:
    """DESIGN §3.3: each view of a record is built from its XML."""
    built = getattr(aleph, name).from_xml('<oai_marc><fixfield id="FMT">SE</fixfield></oai_marc>')
    assert type(built).__name__ == name


def test_the_issn_error_travels_as_a_refused_request() -> None:
    """An invalid ISSN is refused before the catalogue is asked: not a catalogue error."""
    assert aleph.InvalidISSNError is errors.InvalidISSNError
    assert issubclass(errors.InvalidISSNError, errors.MessageError)
    assert not issubclass(errors.InvalidISSNError, errors.AlephException)
    assert errors.RemoteError("InvalidISSNError", "…").origin == "daemon"


def test_serializers_names() -> None:
    assert {"serialize", "deserialize"} <= set(serializers.__all__)
    assert callable(serializers.serialize)
    assert callable(serializers.deserialize)


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_settings_names(name: str) -> None:
    assert name in dir(settings)
    assert getattr(settings, name) is not None


@pytest.mark.parametrize(
    "module",
    [aleph, serializers, settings, errors],
    ids=lambda module: module.__name__,
)
def test_all_lists_only_existing_names_once(module: ModuleType) -> None:
    names = module.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(module, name), name


def test_the_original_documentation_example_imports() -> None:
    from edeposit.amqp.serializers import serialize  # noqa: PLC0415 - the example's own import

    body = serialize(aleph.SearchRequest(aleph.ISBNQuery("80-251-0225-4")))
    assert '"__nt_name":"SearchRequest"' in body
    assert settings.RABBITMQ_ALEPH_EXCHANGE == "search"
    assert settings.RABBITMQ_ALEPH_DAEMON_KEY == "request"


def test_edeposit_is_a_namespace_package() -> None:
    assert getattr(edeposit, "__file__", None) is None
    assert not (PROJECT_ROOT / "src" / "edeposit" / "__init__.py").exists()
    for location in edeposit.__path__:
        assert not (Path(location) / "__init__.py").exists()
    assert importlib.import_module("edeposit.amqp").__name__ == "edeposit.amqp"


def test_py_typed_is_shipped() -> None:
    marker = importlib.resources.files("edeposit.amqp").joinpath("py.typed")
    assert marker.is_file()
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["edeposit.amqp"]
    assert "Typing :: Typed" in pyproject["project"]["classifiers"]


def test_the_package_has_a_version() -> None:
    from edeposit import amqp  # noqa: PLC0415 - the package itself is what is checked

    assert amqp.__version__ == importlib.metadata.version("edeposit-amqp")


SERVICE_NAMES = {
    "edeposit.amqp.aleph": ["reactToAMQPMessage"],
    "edeposit.amqp.alephdaemon": ["AlephDaemon", "getConnectionParameters", "main"],
    "edeposit.amqp.pikadaemon": ["PikaDaemon", "connection_parameters"],
    "edeposit.amqp.daemonwrapper": ["DaemonRunnerWrapper"],
    "edeposit.amqp.amqp_tool": ["main"],
    "edeposit.amqp.client": ["AlephClient", "RemoteError"],
}


@pytest.mark.parametrize(
    ("module_name", "name"),
    [(module, name) for module, names in SERVICE_NAMES.items() for name in names],
)
def test_service_names(module_name: str, name: str) -> None:
    assert callable(getattr(importlib.import_module(module_name), name))


@pytest.mark.parametrize(
    ("cls", "methods"),
    [
        ("PikaDaemon", ["onMessageReceived", "sendMessage", "sendResponse", "ack"]),
        (
            "DaemonRunnerWrapper",
            ["body", "run", "run_daemon", "onExit", "onIsRunning", "onStopFail", "isRunning"],
        ),
    ],
)
def test_original_method_names(cls: str, methods: list[str]) -> None:
    module = importlib.import_module(
        "edeposit.amqp.pikadaemon" if cls == "PikaDaemon" else "edeposit.amqp.daemonwrapper"
    )
    for method in methods:
        assert callable(getattr(getattr(module, cls), method)), method


def test_get_connection_parameters_follow_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from edeposit.amqp import alephdaemon  # noqa: PLC0415

    monkeypatch.setenv("RABBITMQ_HOST", "broker.example")
    monkeypatch.setenv("RABBITMQ_ALEPH_VIRTUALHOST", "elsewhere")
    settings.reload()
    parameters = alephdaemon.getConnectionParameters()
    assert (parameters.host, parameters.port, parameters.virtual_host) == (
        "broker.example",
        5672,
        "elsewhere",
    )
    assert parameters.credentials.username == "guest"


def test_console_scripts_are_declared() -> None:
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"alephdaemon", "amqp_tool", "aleph-emulator"} <= set(scripts)
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))


def _isort_order(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps ``__all__`` in: CONSTANTS, Classes, functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2), name


def _project_types(hint: object) -> set[type]:
    """The classes of this project a type hint names, nested ones and dataclass fields too."""
    found: set[type] = set()
    if isinstance(hint, type) and hint.__module__.startswith("edeposit.amqp"):
        found.add(hint)
        if dataclasses.is_dataclass(hint):
            for field in typing.get_type_hints(hint).values():
                found |= _project_types(field)
    for argument in typing.get_args(hint):
        found |= _project_types(argument)
    return found


def test_the_pikadaemon_face_exports_every_type_its_signatures_use() -> None:
    """A service never imports from an internal module to call a public method."""
    from edeposit.amqp import pikadaemon  # noqa: PLC0415

    names = pikadaemon.__all__
    assert names == sorted(names, key=_isort_order)
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(pikadaemon, name), name
    used: set[type] = set()
    for name, member in inspect.getmembers(pikadaemon.PikaDaemon):
        function = member.fget if isinstance(member, property) else member
        if (name.startswith("_") and name != "__init__") or not callable(function):
            continue
        for hint in typing.get_type_hints(function).values():
            used |= _project_types(hint)
    assert {"Topology", "Queue", "Exchange", "Binding", "Outgoing"} <= {t.__name__ for t in used}
    for cls in used:
        assert getattr(pikadaemon, cls.__name__, None) is cls, f"{cls.__name__} not exported"
    for name in ("ReplyToError", "BrokerError", "connection_parameters"):
        assert name in names
