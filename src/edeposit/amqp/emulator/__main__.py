"""``aleph-emulator``: run the Aleph X-Server emulator until SIGTERM or SIGINT.

The first line on standard output is ``aleph-emulator listening on <url>`` (flushed), so
a parent process can read the port when it passed ``--port 0``. Indexing a large corpus
shows its progress when stderr is a terminal, and logs its totals. Exit codes: 0 stopped
by a signal, 1 it could not start (the port, the corpus), 2 wrong usage, 141 its output
was closed early (as every command of the project, through ``runtime/console.py``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from edeposit.amqp.emulator.emulator import AlephEmulator
from edeposit.amqp.emulator.faults import Faults
from edeposit.amqp.emulator.xservices import DEFAULT_BASES
from edeposit.amqp.runtime.console import CommandParser, quiet_broken_pipe

__all__ = ["build_parser", "main"]

log = logging.getLogger("edeposit.amqp.emulator")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
#: The highest TCP port.
MAX_PORT = 65535


def _version() -> str:
    try:
        return importlib.metadata.version("edeposit-amqp")
    except importlib.metadata.PackageNotFoundError:  # a source tree
        return "0+unknown"


def _port(text: str) -> int:
    """A ``--port``: 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"a port is 0 (any free one) to {MAX_PORT}, not {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The command line parser."""
    parser = CommandParser(
        prog="aleph-emulator",
        # One usage line: a wrong option is told in two lines, not a screenful.
        usage="%(prog)s [--port N] [--corpus PATH …] [options]",
        description="A fake Aleph X-Server (X-Services and the e-deposit export form).",
        epilog="exit codes: 0 stopped by a signal, 1 could not start (port, corpus), "
        "2 wrong usage, 141 the output was closed early",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=0, help="port; 0 picks a free one")
    parser.add_argument(
        "--corpus",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="MARC files or folders (ISO 2709, MARC XML, OAI-MARC); default: the sample corpus",
    )
    parser.add_argument("--index-dir", type=Path, help="where corpus indexes are kept")
    parser.add_argument("--set-limit", type=int, default=2500, help="entries stored per set")
    parser.add_argument(
        "--bases", default=",".join(DEFAULT_BASES), help="comma-separated logical bases"
    )
    parser.add_argument("--library", default="NKC01", help="the physical library")
    parser.add_argument(
        "--legacy-export",
        action="store_true",
        help="reject exports the pre-2015 way: page text instead of the Aleph-Info header",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of session ids and faults")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING…")
    faults = parser.add_argument_group("faults (all off by default)")
    faults.add_argument("--latency", type=float, default=0.0, help="seconds added to replies")
    faults.add_argument("--latency-jitter", type=float, default=0.0, help="random extra seconds")
    faults.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped requests")
    faults.add_argument("--forbidden-rate", type=float, default=0.0, help="share of 403 pages")
    faults.add_argument(
        "--maintenance-rate", type=float, default=0.0, help="share of 200 maintenance pages"
    )
    faults.add_argument("--malformed-rate", type=float, default=0.0, help="share of broken XML")
    faults.add_argument("--hang", type=float, default=0.0, help="seconds every request hangs")
    faults.add_argument("--licence-limit", type=int, help="sessions allowed per window")
    faults.add_argument("--licence-window", type=float, default=120.0, help="window seconds")
    return parser


@quiet_broken_pipe
def main(argv: Sequence[str] | None = None) -> int:
    """Runs the emulator until a signal; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        faults = Faults(
            latency=args.latency,
            latency_jitter=args.latency_jitter,
            drop_rate=args.drop_rate,
            forbidden_rate=args.forbidden_rate,
            maintenance_rate=args.maintenance_rate,
            malformed_rate=args.malformed_rate,
            hang_seconds=args.hang,
            licence_limit=args.licence_limit,
            licence_window=args.licence_window,
        )
        emulator = AlephEmulator(
            args.corpus,
            host=args.host,
            port=args.port,
            set_limit=args.set_limit,
            index_dir=args.index_dir,
            faults=faults,
            bases=[base.strip() for base in args.bases.split(",") if base.strip()],
            library=args.library,
            legacy_export=args.legacy_export,
            seed=args.seed,
            progress=sys.stderr if sys.stderr.isatty() else None,
        )
        emulator.start()
    except (OSError, ValueError) as error:
        print(f"aleph-emulator: {error}", file=sys.stderr)
        return EXIT_FAILURE
    signals: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Only a flag: an Event here could deadlock on the lock its own wait() holds.
        signals.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        print(f"aleph-emulator listening on {emulator.url}", flush=True)
        while not signals:
            time.sleep(0.2)
        log.info("signal %d received, stopping", signals[0])
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
