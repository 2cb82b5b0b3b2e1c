"""The package's shape, checked: layers, no import cycle, small modules, one error tree.

Imports are read from the source (every ``import``, also those inside functions, which
count as much as the ones at the top), so a cycle cannot hide behind a lazy import.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import edeposit.amqp
from edeposit.amqp.errors import EdepositAMQPError

PACKAGE = "edeposit.amqp"
SOURCE = Path(edeposit.amqp.__file__).parent
PROJECT_ROOT = Path(__file__).resolve().parents[1]

#: Layers from the bottom up: a module may import its own layer and the ones below.
LAYERS: list[set[str]] = [
    {"errors"},
    {"config", "config_lookalikes", "config_values", "settings", "settings_doc", "wire", "marc"},
    {"aleph"},
    {"catalogue", "runtime"},
    {"daemon", "tool"},
    {"alephdaemon", "pikadaemon", "daemonwrapper", "serializers", "amqp_tool"},
    {"client", "cli", "demo"},
]
#: Apart from the layers: imports nothing of the project but the error tree's root.
APART = {"emulator"}
#: The emulator's command ends like every command of the project (a closed pipe is 141):
#: it shares their edges, a module that imports nothing of the project.
APART_EDGES = {("edeposit.amqp.emulator.__main__", "edeposit.amqp.runtime.console")}
#: The contract's ``aleph.reactToAMQPMessage`` talks to the catalogue; it is imported
#: on first use from the model's package (DESIGN §2 puts it there).
#: ``python -m edeposit.amqp.aleph`` runs the ``aleph`` command: an entry point beside the
#: model, which never imports it.
ALLOWED_UPWARD = {
    ("edeposit.amqp.aleph", "edeposit.amqp.catalogue.service"),
    ("edeposit.amqp.aleph.__main__", "edeposit.amqp.cli"),
}
#: The catalogue and the runtime are side by side: neither imports the other.
SIBLINGS_APART = ("catalogue", "runtime")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    modules = {}
    for path in SOURCE.rglob("*.py"):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join((PACKAGE, *parts))] = path
    return modules


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """The project modules ``name`` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # ``from pkg import module`` imports that module; ``from pkg import name``, pkg.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        for imported in targets:
            module = imported
            while module and module not in MODULES:
                module = module.rpartition(".")[0]
            if module.startswith(PACKAGE + ".") and module != name:
                yield module


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _top(module: str) -> str:
    return module.removeprefix(PACKAGE + ".").split(".")[0]


def _layer(module: str) -> int:
    top = _top(module)
    for index, layer in enumerate(LAYERS):
        if top in layer:
            return index
    raise AssertionError(f"{module} belongs to no layer; add its package to LAYERS")


def test_every_module_has_a_place() -> None:
    for module in MODULES:
        if module != PACKAGE and _top(module) not in APART:
            _layer(module)


def test_no_import_cycle() -> None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        if module in visiting:
            cycle = [*visiting[visiting.index(module) :], module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        visiting.append(module)
        for target in sorted(GRAPH[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)


def test_imports_go_down_the_layers() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module != PACKAGE and _top(module) not in APART
        for target in targets
        if _top(target) not in APART
        and _layer(target) > _layer(module)
        and (module, target) not in ALLOWED_UPWARD
    ]
    assert wrong == []


def test_catalogue_and_runtime_stay_apart() -> None:
    first, second = SIBLINGS_APART
    crossing = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if {_top(module), _top(target)} == {first, second}
    ]
    assert crossing == []


def test_the_emulator_stands_apart() -> None:
    for module, targets in GRAPH.items():
        if _top(module) == "emulator":
            shared = {target for target in targets if (module, target) in APART_EDGES}
            assert all(GRAPH[target] == set() for target in shared), "edges stay plain"
            assert {_top(target) for target in targets - shared} <= {"emulator", "errors"}, module
        else:
            assert not any(_top(target) == "emulator" for target in targets) or _top(module) in {
                "demo"
            }, f"{module} imports the emulator"


def test_the_model_does_no_io() -> None:
    io_modules = {"socket", "urllib3", "pika", "http", "httpx", "requests", "subprocess"}
    for module, path in MODULES.items():
        if _top(module) not in {"wire", "aleph", "marc"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for imported in names:
                assert imported.split(".")[0] not in io_modules, f"{module} imports {imported}"


def test_modules_are_small() -> None:
    large = {
        module: lines
        for module, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert large == {}


def test_the_catalogue_client_is_a_package_of_its_own() -> None:
    catalogue = SOURCE / "catalogue"
    assert (catalogue / "__init__.py").is_file()
    assert {"xservices", "transport", "search", "export", "service"} <= {
        path.stem for path in catalogue.glob("*.py")
    }
    assert not any(_top(target) == "catalogue" for target in GRAPH[f"{PACKAGE}.wire.codec"])


def _all_classes() -> Iterator[type]:
    for info in pkgutil.walk_packages(edeposit.amqp.__path__, PACKAGE + "."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ == info.name:
                yield value


def test_every_exception_of_the_package_is_under_the_root() -> None:
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _all_classes()
        if issubclass(cls, BaseException) and not issubclass(cls, EdepositAMQPError)
    ]
    assert outside == []


def test_the_model_has_one_decoder() -> None:
    for module, path in MODULES.items():
        if _top(module) in {"wire", "aleph"}:
            text = path.read_text(encoding="utf-8")
            assert "Fallback" not in text and "_fast_" not in text, module


def test_runtime_dependencies_are_what_src_imports() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {
        requirement.split(">")[0].split("=")[0].split("[")[0].strip().lower()
        for requirement in project["project"]["dependencies"]
    }
    distribution_of = {
        "pika": "pika",
        "daemon": "python-daemon",
        "lxml": "lxml",
        "stdnum": "python-stdnum",
        "urllib3": "urllib3",
        "orjson": "orjson",
        "prometheus_client": "prometheus-client",
    }
    imported: set[str] = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                imported.add((node.module or "").split(".")[0])
    used = {distribution_of[name] for name in imported if name in distribution_of}
    assert declared == used
    assert "pymarc" not in declared
