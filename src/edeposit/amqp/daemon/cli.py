"""The ``alephdaemon`` command: ``start | stop | restart | status`` and ``--foreground``."""

from __future__ import annotations

import argparse
import os
import sys

from edeposit.amqp import __version__
from edeposit.amqp import settings as settings_module
from edeposit.amqp.config import CONFIG_ENV_VAR, Settings
from edeposit.amqp.daemon.service import AlephDaemon
from edeposit.amqp.errors import ConfigError
from edeposit.amqp.runtime.console import CommandParser, quiet_broken_pipe
from edeposit.amqp.runtime.parameters import name_program
from edeposit.amqp.runtime.runner import ACTIONS, ExitCode

__all__ = ["EPILOG", "build_parser", "main"]

EPILOG = """\
exit codes:
  0   done; start: the daemon consumes; status: it serves
  1   failure (already running, did not stop in time, ...)
  2   wrong usage
  3   status: not running
  4   status: running but not serving (not connected, stuck); start: started, but not
      serving within ALEPH_DAEMON_START_TIMEOUT (it goes on trying)
  78  configuration: bad settings, refused login, missing vhost, a queue declared
      differently, an unwritable pidfile or log (restarting cannot help)
  141 the output was closed early (| head)

status reads the state the running daemon keeps beside its pidfile; it also looks in
/run/edeposit (the systemd unit's RuntimeDirectory). Settings: /etc/edeposit/amqp.json,
~/edeposit/amqp.json, $EDEPOSIT_AMQP_CONFIG (--config), environment variables of the
same names; docs/settings.md lists them all.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="alephdaemon",
        description="Answer Aleph catalogue requests arriving through RabbitMQ.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", nargs="?", choices=ACTIONS, help="what to do (default: start)")
    parser.add_argument(
        "-f", "--foreground", action="store_true", help="run attached (systemd, containers)"
    )
    parser.add_argument(
        "--config", metavar="FILE", help=f"a JSON settings file (as ${CONFIG_ENV_VAR})"
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="requests handled at once (ALEPH_DAEMON_WORKERS)"
    )
    parser.add_argument(
        "--log-level", metavar="LEVEL", help="DEBUG, INFO, WARNING or ERROR (LOG_LEVEL)"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _settings(arguments: argparse.Namespace) -> Settings:
    """The settings, with the command line's overrides (they win over every source)."""
    if arguments.config:
        os.environ[CONFIG_ENV_VAR] = arguments.config
        current = settings_module.reload()
    else:
        current = settings_module.get()
    overrides: dict[str, object] = {}
    if arguments.workers is not None:
        overrides["ALEPH_DAEMON_WORKERS"] = arguments.workers
    if arguments.log_level is not None:
        overrides["LOG_LEVEL"] = arguments.log_level
    return current.replace(**overrides) if overrides else current


@quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    """The ``alephdaemon`` command."""
    name_program("alephdaemon")
    arguments = build_parser().parse_args(argv)
    try:
        current = _settings(arguments)
    except ConfigError as error:
        print(f"alephdaemon: {error}", file=sys.stderr)
        return ExitCode.CONFIG
    daemon = AlephDaemon(settings=current)
    action = arguments.action or "start"
    if arguments.foreground and action in ("start", "restart"):
        return daemon.run_foreground()
    return daemon.run_daemon(action)
