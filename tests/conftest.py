"""Shared test fixtures: where the real Aleph data lives, isolated settings."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench import cluster_faults
from bench.brokers import PrivateCluster, PrivateNode

from edeposit.amqp import config as amqp_config
from edeposit.amqp import settings

TESTS = Path(__file__).resolve().parent
PROJECT_ROOT = TESTS.parent
#: The shared reference folder (DESIGN, fixtures) beside the project; CI has it there too.
SHARED_DIR = Path(os.environ.get("EDEPOSIT_SHARED_DIR", PROJECT_ROOT.parent / "shared"))
ALEPH_FIXTURES = SHARED_DIR / "fixtures" / "aleph"
#: Folders whose every test talks to RabbitMQ (the machine's broker or a private node).
BROKER_FOLDERS = frozenset({"harness", "reliability", "services"})


def pytest_configure(config: pytest.Config) -> None:
    """Relocate the system settings file for the whole run, collection included.

    Settings load lazily, on first use, which may come before any fixture (pytest looks
    at module attributes while collecting); none of them may read ``/etc/edeposit``.
    """
    folder = Path(tempfile.mkdtemp(prefix="edeposit-tests-etc-"))
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ[amqp_config.SYSTEM_CONFIG_ENV_VAR] = str(folder / "edeposit" / "amqp.json")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`BROKER_FOLDERS` ``broker``: ``-m "not broker"`` is the fast loop.

    Tests on the session's private cluster, on its private node, and the harness's own
    nodes each keep to one worker when the suite runs in parallel (``scripts/test``:
    pytest-xdist, ``--dist loadgroup``): each group boots its brokers once, and no two
    groups stop or freeze brokers at the same time.
    """
    for item in items:
        relative = item.path.relative_to(TESTS) if item.path.is_relative_to(TESTS) else None
        if relative is not None and relative.parts[0] in BROKER_FOLDERS:
            item.add_marker(pytest.mark.broker)
        fixtures = getattr(item, "fixturenames", ())
        if "private_cluster" in fixtures:
            item.add_marker(pytest.mark.xdist_group("private-cluster"))
        elif "private_node" in fixtures:
            item.add_marker(pytest.mark.xdist_group("private-node"))
        elif relative is not None and relative.parts[0] == "harness":
            item.add_marker(pytest.mark.xdist_group("harness"))


@pytest.fixture(scope="session")
def aleph_fixtures() -> Path:
    """The folder of real Aleph records and X-Server replies (never copied into the project).

    A user's fresh clone has no shared folder: the tests that need it skip there and
    say how to run them; CI has the folder and runs them.
    """
    if not ALEPH_FIXTURES.is_dir():
        pytest.skip(
            f"real Aleph fixtures not found at {ALEPH_FIXTURES}; set EDEPOSIT_SHARED_DIR "
            "to the shared folder (or put it beside the project) to run this test"
        )
    return ALEPH_FIXTURES


@pytest.fixture(scope="session")
def private_node() -> Iterator[PrivateNode]:
    """One private RabbitMQ node for every test that stops, restarts or freezes a broker.

    Shared because a node takes seconds to boot; tests that break it mend it again
    (``start_app``, ``resume``). Stopped at the end of the session, whatever happened.
    """
    with PrivateNode() as node:
        yield node


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[PrivateCluster]:
    """One private three-node RabbitMQ cluster for a module's tests that stop, restart or
    freeze cluster nodes (a cluster takes half a minute to form); each test mends what it
    broke. Its nodes give up on a frozen one after about 10 s
    (``cluster_faults.NET_TICKTIME``). Stopped after the module, whatever happened, so
    that its three nodes do not share the machine with the next module's."""
    with PrivateCluster(3, net_ticktime=cluster_faults.NET_TICKTIME) as cluster:
        yield cluster


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test starts from default settings: no user or system files, no overrides.

    The system file is relocated into an empty folder through the environment, so that
    neither the tests nor the daemons and tools they start read ``/etc/edeposit``.
    """
    home = tmp_path_factory.mktemp("home")
    etc = tmp_path_factory.mktemp("etc")
    saved = os.environ.copy()
    for key in list(os.environ):
        if key.startswith(("RABBITMQ_", "ALEPH_", "EDEPOSIT_AMQP_")) or key == "LOG_LEVEL":
            del os.environ[key]
    os.environ["HOME"] = str(home)
    os.environ[amqp_config.SYSTEM_CONFIG_ENV_VAR] = str(etc / "edeposit" / "amqp.json")
    settings.reload()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        settings.reload()
