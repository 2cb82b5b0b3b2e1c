"""The ``alephdaemon`` command: ``start | stop | restart | status`` and ``--foreground``."""

from __future__ import annotations

import argparse
import sys

from edeposit.amqp import settings as settings_module
from edeposit.amqp.daemon.service import AlephDaemon
from edeposit.amqp.errors import ConfigError
from edeposit.amqp.runtime.runner import ACTIONS, ExitCode

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alephdaemon",
        description="Answer Aleph catalogue requests arriving through RabbitMQ.",
        epilog="status exits 0 when running and the broker answers, 4 when running but the "
        "broker does not, 3 when not running. Settings: /etc/edeposit/amqp.json, "
        "~/edeposit/amqp.json, $EDEPOSIT_AMQP_CONFIG, environment variables.",
    )
    parser.add_argument("action", nargs="?", choices=ACTIONS, help="what to do (default: start)")
    parser.add_argument(
        "-f", "--foreground", action="store_true", help="run attached (systemd, containers)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``alephdaemon`` command."""
    arguments = build_parser().parse_args(argv)
    try:
        current = settings_module.get()
    except ConfigError as error:
        print(f"alephdaemon: {error}", file=sys.stderr)
        return ExitCode.USAGE
    daemon = AlephDaemon(settings=current)
    action = arguments.action or "start"
    if arguments.foreground and action in ("start", "restart"):
        return daemon.run_foreground()
    return daemon.run_daemon(action)
