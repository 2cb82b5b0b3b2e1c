"""Emulators over real sockets for the emulator tests: started on 127.0.0.1:0, always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.emulator import index as index_module
from edeposit.amqp.emulator.corpus import SourceRecord
from tests.emulator.helpers import X


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index folder for the session, so unchanged corpora are indexed once."""
    return tmp_path_factory.mktemp("emulator-index")


@pytest.fixture(scope="module")
def sample_emulator(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AlephEmulator]:
    """The emulator over the shipped sample corpus (read-only tests share it)."""
    with AlephEmulator(index_dir=tmp_path_factory.mktemp("sample-index")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def fixture_emulator(
    aleph_fixtures: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AlephEmulator]:
    """The emulator over the real records and replies of the shared fixtures."""
    with AlephEmulator(
        [aleph_fixtures], index_dir=tmp_path_factory.mktemp("fixture-index")
    ) as emulator:
        yield emulator


@pytest.fixture
def emulator(index_dir: Path) -> Iterator[AlephEmulator]:
    """A private emulator over the sample corpus (for tests that change faults or state)."""
    with AlephEmulator(index_dir=index_dir) as emulator:
        yield emulator


@pytest.fixture
def corpus_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts how many times the corpus files are read (one entry per records read)."""
    reads: list[int] = []
    original = index_module.read_corpus

    def counting(files: object, progress: object = None) -> Iterator[SourceRecord]:
        count = 0
        for record in original(files, progress):  # type: ignore[arg-type]
            count += 1
            yield record
        reads.append(count)

    monkeypatch.setattr(index_module, "read_corpus", counting)
    yield reads


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as client:
        yield client


@pytest.fixture
def sample(sample_emulator: AlephEmulator, http: httpx.Client) -> X:
    return X(sample_emulator, http)


@pytest.fixture
def real(fixture_emulator: AlephEmulator, http: httpx.Client) -> X:
    return X(fixture_emulator, http)


@pytest.fixture
def x(emulator: AlephEmulator, http: httpx.Client) -> X:
    return X(emulator, http)
