"""The distribution: a complete sdist (docs, deploy, scripts, all tests), a wheel that
installs the deployment files, the licence, the classifiers, and the runtime dependencies
the daemon imports."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def shipped_files() -> set[str]:
    """The files of the source tree an sdist must carry (caches and local data aside)."""
    wanted = set()
    for folder in ("docs", "deploy", "scripts", "tests", "bench", "src"):
        for path in (ROOT / folder).rglob("*"):
            parts = set(path.relative_to(ROOT).parts)
            cached = parts & {"__pycache__", ".data", ".hypothesis"}
            if path.is_file() and not cached and path.suffix not in {".pyc", ".sqlite"}:
                wanted.add(str(path.relative_to(ROOT)))
    return wanted | {"LICENSE", "README.md", "pyproject.toml"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel built from it, as ``python -m build`` makes them."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the build package is not installed (pip install -e '.[dev]')")
    folder = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return folder


def test_the_sdist_is_complete(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = shipped_files() - names
    assert not missing, sorted(missing)
    assert not [name for name in names if "__pycache__" in name]


def test_the_wheel_installs_the_deployment_files(dist: Path, tmp_path: Path) -> None:
    """docs/operations.md: a wheel's deploy/ is <prefix>/share/edeposit-amqp/deploy/."""
    [wheel] = dist.glob("*.whl")
    venv = tmp_path / "venv"  # an environment of its own: pip replaces what it installs
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=60, check=True
    )
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    installed = subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    deploy = venv / "share" / "edeposit-amqp" / "deploy"
    shipped = {path.name: path.read_bytes() for path in (ROOT / "deploy").iterdir()}
    assert {path.name: path.read_bytes() for path in deploy.iterdir()} == shipped
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "/opt/edeposit-amqp/share/edeposit-amqp/deploy" in guide


def test_licence_and_classifiers() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License")
    assert "Copyright (c) 2026 the edeposit-amqp authors" in licence
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    for classifier in (
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Operating System :: POSIX :: Linux",
    ):
        assert classifier in project["classifiers"]


def test_prometheus_client_is_a_runtime_dependency() -> None:
    names = [spec.split(">")[0].split("=")[0] for spec in PYPROJECT["project"]["dependencies"]]
    assert "prometheus-client" in names


def shipped_texts() -> list[Path]:
    """README, docs/, deploy/ and the package's sources."""
    texts = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "deploy").iterdir()]
    return texts + sorted((ROOT / "src").rglob("*.py"))


def test_the_install_instructions_name_this_project() -> None:
    """The package index's edeposit-amqp is the 2015 original, not this project."""
    for path in shipped_texts():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip install (--upgrade )?edeposit-amqp\b", text), path


def test_shipped_texts_name_only_documents_that_ship() -> None:
    """README, docs/, deploy/ and the package's docstrings and comments refer to documents
    the sdist carries, never to the development contract behind them."""
    for path in shipped_texts():
        text = path.read_text(encoding="utf-8")
        assert "DESIGN" not in text, f"{path.relative_to(ROOT)} refers to DESIGN"
        for named in re.findall(r"\bdocs/[\w.-]+\.(?:md|json)\b", text):
            assert (ROOT / named).is_file(), f"{path.relative_to(ROOT)} names {named}"
