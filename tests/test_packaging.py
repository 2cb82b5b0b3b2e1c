"""The distribution: a complete sdist (docs, deploy, scripts, all tests), the licence, the
classifiers, and the runtime dependencies the daemon imports."""

from __future__ import annotations

import importlib.util
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


def test_the_sdist_is_complete(tmp_path: Path) -> None:
    if importlib.util.find_spec("build") is None:
        pytest.skip("the build package is not installed (pip install -e '.[dev]')")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [sdist] = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = shipped_files() - names
    assert not missing, sorted(missing)
    assert not [name for name in names if "__pycache__" in name]


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
