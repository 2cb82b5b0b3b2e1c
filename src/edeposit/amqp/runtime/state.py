"""The running daemon's own account of itself, where ``status`` reads it.

The daemon rewrites a small JSON file beside its pidfile every second
(``alephdaemon.pid`` → ``alephdaemon.state.json``): its pid, whether it serves, the
broker node it is connected to and since when, the queues it consumes, requests in
flight, its counters and the last error. The file is replaced atomically (written
aside, then renamed), so a reader sees the old state or the new one, never half of one.
``status`` therefore reports what the daemon itself sees — never the result of a probe
with the caller's settings — and a state that stopped being renewed says the daemon is
stuck.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["STALE_AFTER", "assess", "read_state", "remove_state", "state_path", "write_state"]

#: A state older than this many seconds means the daemon stopped renewing it (stuck).
STALE_AFTER = 15.0


def state_path(pid_path: Path) -> Path:
    """The state file beside a pidfile: ``alephdaemon.pid`` → ``alephdaemon.state.json``."""
    return pid_path.with_name(pid_path.stem + ".state.json")


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace ``path`` with ``state`` as JSON, atomically; readable by all (no secrets)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    data = json.dumps({**state, "updated": time.time()}, indent=1, default=str)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fchmod(fd, 0o644)  # `status` from another account (UMask=0077 in the unit)
        os.write(fd, data.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(temporary, path)


def remove_state(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_state(path: Path) -> dict[str, Any] | None:
    """The state in ``path``, or None when there is none (or it cannot be read)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _when(timestamp: Any) -> str:
    if not isinstance(timestamp, int | float):
        return "?"
    moment = datetime.datetime.fromtimestamp(timestamp).astimezone()
    return moment.isoformat(timespec="seconds")


def assess(state: dict[str, Any], pid: int, now: float | None = None) -> tuple[bool, str]:
    """Whether the daemon with ``pid`` serves, according to its ``state``, and the text
    ``status`` prints (a verdict line, then one line per fact)."""
    now = time.time() if now is None else now
    age = now - state["updated"] if isinstance(state.get("updated"), int | float) else None
    problems = []
    if state.get("pid") != pid:
        problems.append(f"the state file is of pid {state.get('pid')}, not {pid}")
    if age is None or age > STALE_AFTER:
        shown = "never" if age is None else f"{age:.0f} s ago"
        problems.append(f"the daemon stopped renewing its state (last {shown}): stuck?")
    if not state.get("serving"):
        problems.append(str(state.get("activity") or "not consuming"))
    verdict = "serving" if not problems else "NOT serving: " + "; ".join(problems)
    broker = state.get("node") or "?"
    connected = "connected" if state.get("connected") else "not connected"
    lines = [
        verdict,
        f"  broker:     {broker}, {connected} since {_when(state.get('since'))}"
        f" ({state.get('reconnects', 0)} reconnects)",
        f"  consuming:  {', '.join(state.get('consuming') or []) or 'nothing'}",
        f"  in flight:  {state.get('in_flight', '?')}",
    ]
    counters = state.get("counters") or {}
    if counters:
        shown = ", ".join(f"{name} {value}" for name, value in sorted(counters.items()))
        lines.append(f"  counters:   {shown}")
    details = state.get("details") or {}
    if isinstance(details, dict):
        lines.extend(f"  {f'{name}:':<12}{value}" for name, value in details.items())
    if state.get("last_error"):
        lines.append(f"  last error: {state['last_error']} ({_when(state.get('last_error_at'))})")
    lines.append(f"  started:    {_when(state.get('started'))}")
    return not problems, "\n".join(lines)
