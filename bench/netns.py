"""Network namespaces as hosts: create them, run code inside, and sweep what a run left.

A namespace of this harness is named ``edc<owner pid>-<host>``: the owner is the process
that built it, so the sweep at the next start removes only namespaces whose builder is
gone (another run in progress keeps its own). Removing a namespace kills every process
inside it first (RabbitMQ's VM, epmd, daemons, relays); its links, and bridges living in
it, go with it. Nothing here touches the machine's own namespace or its interfaces.

Threads enter a namespace with ``setns(2)``, which moves the calling thread only: every
socket the thread opens afterwards belongs to that namespace (Python 3.11 has no
``os.setns``, hence the ``ctypes`` call).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = [
    "PREFIX",
    "alive",
    "call_in",
    "enter",
    "ip",
    "namespace_name",
    "processes_in",
    "remove_namespace",
    "sweep",
    "unavailable",
]

#: Prefix of the harness's namespace names (``edc<pid>-<host>``).
PREFIX = "edc"
_NAME = re.compile(rf"{PREFIX}(\d+)-[a-z0-9]+")
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

T = TypeVar("T")


def ip(*arguments: str) -> str:
    """``ip …``; its output, or ``RuntimeError`` with ip's own words."""
    completed = subprocess.run(
        ["ip", *arguments], capture_output=True, text=True, timeout=30, check=False
    )
    if completed.returncode:
        raise RuntimeError(f"ip {' '.join(arguments)}: {completed.stderr.strip()}")
    return completed.stdout


def namespace_name(host: str, owner: int | None = None) -> str:
    """The namespace of ``host`` built by process ``owner`` (this one by default)."""
    name = f"{PREFIX}{os.getpid() if owner is None else owner}-{host}"
    if not _NAME.fullmatch(name):
        raise ValueError(f"host names are lower-case letters and digits, not {host!r}")
    return name


def unavailable() -> str | None:
    """Why namespaces cannot be built here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = namespace_name("probe")
    try:
        ip("netns", "add", probe)
        ip("-n", probe, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1")
        ip("-n", probe, "link", "add", "probebr", "type", "bridge")
    except RuntimeError as error:
        return f"this machine cannot build namespaced hosts: {error}"
    finally:
        with contextlib.suppress(RuntimeError):
            ip("netns", "del", probe)
    return None


def enter(namespace: str) -> None:
    """Move the calling thread into ``namespace`` (its later sockets live there)."""
    fd = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            number = ctypes.get_errno()
            raise OSError(number, f"setns into {namespace}: {os.strerror(number)}")
    finally:
        os.close(fd)


def call_in(namespace: str, function: Callable[[], T], timeout: float = 30.0) -> T:
    """``function()`` run by a fresh thread inside ``namespace``; its result or its error.

    Raises:
        TimeoutError: it did not return within ``timeout`` seconds (the thread is left
            to finish on its own; it is a daemon thread).
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            enter(namespace)
            outcome.append(function())
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            failure.append(error)

    worker = threading.Thread(target=run, name=f"in-{namespace}", daemon=True)
    worker.start()
    worker.join(timeout)
    if failure:
        raise failure[0]
    if not outcome:
        raise TimeoutError(f"no answer from inside {namespace} within {timeout:g} s")
    return outcome[0]


def processes_in(namespace: str) -> list[int]:
    """Process ids whose network namespace is ``namespace`` (never this process)."""
    try:
        listed = ip("netns", "pids", namespace).split()
    except RuntimeError:
        return []
    return [int(pid) for pid in listed if int(pid) != os.getpid()]


def remove_namespace(namespace: str) -> None:
    """Kill every process inside ``namespace``, then delete it (links and bridges go too).

    Its processes are throw-away (nodes whose data is discarded), so they are killed
    outright; what deserves a graceful stop (daemons) is stopped before.
    """
    for _ in range(50):
        pids = processes_in(namespace)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    with contextlib.suppress(RuntimeError):
        ip("netns", "del", namespace)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(keep: Callable[[int], bool] = alive) -> list[str]:
    """Remove the harness's namespaces whose owner is gone (``keep(owner)`` is false).

    Returns the names removed.
    """
    try:
        listed = ip("netns", "list")
    except RuntimeError:
        return []
    removed = []
    for line in listed.splitlines():
        name = line.split(" ", 1)[0]
        match = _NAME.fullmatch(name)
        if match and not keep(int(match.group(1))):
            remove_namespace(name)
            removed.append(name)
    return removed
