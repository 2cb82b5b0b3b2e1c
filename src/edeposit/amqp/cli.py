"""``aleph``: ask the Aleph daemon from a terminal and read the answer as a table.

::

    aleph search --isbn 80-251-0225-4
    aleph search --issn 1213-8215 --json [--generation 2014]
    aleph count --author Raymond
    aleph validate 80-251-0225-4
    aleph export publication.json

Options go before or after the subcommand (``aleph search --isbn X --timeout 5``). The
exit codes are :class:`Exit`; they tell "the ISBN is invalid" from "nobody answered".
"""

from __future__ import annotations

import argparse
import enum
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from edeposit.amqp import __version__
from edeposit.amqp import settings as settings_module
from edeposit.amqp.aleph.alephrecord import AlephRecord
from edeposit.amqp.aleph.queries import (
    AuthorQuery,
    DocumentQuery,
    GenericQuery,
    ICZQuery,
    ISBNQuery,
    ISSNQuery,
    PublisherQuery,
    Query,
    TitleQuery,
)
from edeposit.amqp.aleph.records import EPublication
from edeposit.amqp.client import AlephClient, ClientError, RemoteError
from edeposit.amqp.config import ConfigError
from edeposit.amqp.errors import (
    BrokerError,
    BrokerUnavailableError,
    CallTimeoutError,
    MessageError,
)
from edeposit.amqp.runtime.console import EXIT_BROKEN_PIPE, quiet_broken_pipe
from edeposit.amqp.serializers import deserialize
from edeposit.amqp.wire.codec import WireOptions, encode
from edeposit.amqp.wire.options import GENERATIONS

__all__ = ["EPILOG", "Exit", "build_parser", "format_records", "main"]


class Exit(enum.IntEnum):
    """Exit codes of ``aleph``."""

    OK = 0
    #: ``validate``: the daemon answered that the ISBN is not valid.
    INVALID = 1
    USAGE = 2
    #: No daemon answered before the timeout (none running, or too slow).
    NO_ANSWER = 3
    #: The daemon answered with an error: the catalogue's refusal or its own failure.
    ERROR_ANSWER = 4
    #: The broker could not be reached, or the request not published.
    BROKER = 5
    #: A settings problem.
    CONFIG = 78
    #: The reader of the output went away (``aleph … | head``).
    BROKEN_PIPE = EXIT_BROKEN_PIPE


EPILOG = """exit codes:
  0    done (validate: the ISBN is valid)
  1    validate: the ISBN is not valid
  2    wrong usage, or an unreadable input file
  3    no daemon answered within --timeout (is alephdaemon running? `alephdaemon status`)
  4    the daemon answered with an error (the catalogue said no, could not be asked,
       or the daemon refused the request); the message says which
  5    the broker could not be reached
  78   a settings problem
  141  the output was closed early (| head)
"""


def format_records(records: Sequence[AlephRecord]) -> str:
    """Records as an aligned text table: number, ISBN (a serial's ISSN), title, authors,
    publisher, year."""
    header = ("doc number", "ISBN/ISSN", "title", "authors", "publisher", "year")
    rows = [header]
    for record in records:
        publication = record.epublication
        periodical = record.periodical
        rows.append(
            (
                f"{record.docNumber:09d}",
                ", ".join(publication.ISBN if periodical is None else periodical.ISSN),
                " ".join(filter(None, (publication.nazev, publication.podnazev))).rstrip(" /:"),
                "; ".join(author.to_string() for author in publication.autori),
                publication.nakladatelVydavatel.rstrip(" ,:"),
                publication.datumVydani.rstrip(" ."),
            )
        )
    widths = [min(40, max(len(row[column]) for row in rows)) for column in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [_clip(cell, width).ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append(f"({len(records)} record{'s' if len(records) != 1 else ''})")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


_BY_OPTION = {
    "isbn": ISBNQuery,
    "issn": ISSNQuery,
    "author": AuthorQuery,
    "title": TitleQuery,
    "publisher": PublisherQuery,
    "icz": ICZQuery,
}


def _query(arguments: argparse.Namespace) -> Query:
    base = arguments.base
    for option, query_class in _BY_OPTION.items():
        value = getattr(arguments, option)
        if value:
            return query_class(value, base)
    if arguments.doc:
        return DocumentQuery(arguments.doc)
    return GenericQuery(base, arguments.phrase, False, arguments.field)


def _add_query_options(parser: argparse.ArgumentParser) -> None:
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--isbn", help="ISBN-10 or ISBN-13")
    choice.add_argument("--issn", help="ISSN of a periodical (checked before Aleph is asked)")
    choice.add_argument("--author", help="author's name")
    choice.add_argument("--title", help="words of the title")
    choice.add_argument("--publisher", help="publisher's name")
    choice.add_argument("--icz", help="identification number (field 001)")
    choice.add_argument("--doc", help="system number of one document")
    choice.add_argument("--phrase", help="search PHRASE in index --field")
    parser.add_argument("--field", default="wrd", help="index code for --phrase (default wrd)")
    parser.add_argument("--base", default=None, help="catalogue base (default: ALEPH_DEFAULT_BASE)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aleph",
        description="Query the Aleph catalogue through the Aleph daemon.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (60)")
    # The same option after the subcommand; SUPPRESS keeps the one given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--timeout", type=float, default=argparse.SUPPRESS, help="seconds to wait (60)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=text,
            description=text,
            parents=[common],
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    search = command("search", "print the matching records as a table")
    _add_query_options(search)
    search.add_argument("--json", action="store_true", help="print the records as JSON")
    search.add_argument(
        "--generation",
        choices=GENERATIONS,
        default=GENERATIONS[-1],
        help="--json: the wire form to print, as these clients read it (default %(default)s:"
        " parsed_info, an EPeriodical for a periodical, and semantic_info; 2015: every"
        " record an EPublication with URL lists; 2014: the original 18-field publication)",
    )
    count = command("count", "print how many records match")
    _add_query_options(count)
    validate = command("validate", "is this ISBN valid? (exit 0 valid, 1 invalid)")
    validate.add_argument("isbn")
    export = command("export", "export a publication (JSON EPublication file)")
    export.add_argument("file", type=Path)
    return parser


def run(arguments: argparse.Namespace, client: AlephClient) -> int:
    """Carry out one parsed command with ``client``; the exit code."""
    if arguments.command in ("search", "count") and arguments.base is None:
        arguments.base = settings_module.get().ALEPH_DEFAULT_BASE
    if arguments.command == "search":
        records = client.search(_query(arguments), arguments.timeout)
        if arguments.json:
            written = encode(records, WireOptions(generation=arguments.generation))
            print(json.dumps(json.loads(written), indent=2, ensure_ascii=False))
        else:
            print(format_records(records))
    elif arguments.command == "count":
        print(client.count(_query(arguments), arguments.timeout))
    elif arguments.command == "validate":
        valid = client.validate_isbn(arguments.isbn, arguments.timeout)
        print(f"{arguments.isbn}: {'valid' if valid else 'invalid'}")
        return Exit.OK if valid else Exit.INVALID
    else:
        publication = deserialize(arguments.file.read_bytes())
        if not isinstance(publication, EPublication):
            raise MessageError(f"{arguments.file}: expected an EPublication")
        print(f"exported: ISBN {client.export(publication, arguments.timeout)}")
    return 0


def _warn_without_daemon(client: AlephClient, timeout: float) -> None:
    """Say at once when no daemon consumes the request queue, instead of a silent wait."""
    try:
        consumers = client.daemon_consumers()
    except Exception:  # noqa: BLE001 - only a hint: the call itself tells what fails
        return
    if consumers == 0:
        queue = client.settings.RABBITMQ_ALEPH_DAEMON_QUEUE
        print(
            f"aleph: no daemon consumes queue {queue!r} right now; is alephdaemon running? "
            f"(`alephdaemon status`) Waiting up to {timeout:g} s anyway.",
            file=sys.stderr,
        )


def _remote_error(error: RemoteError) -> str:
    """Who failed, in words."""
    if error.origin == "catalogue":
        return f"the catalogue answered {error.exception_name}: {error.message}"
    if error.origin == "catalogue-unreachable":
        return f"the daemon could not ask the catalogue ({error.exception_name}): {error.message}"
    return f"the daemon answered with an error, {error.exception_name}: {error.message}"


def _ask(arguments: argparse.Namespace) -> int:
    settings_module.get()
    if arguments.command == "export":
        arguments.file.stat()  # a missing file is told before the broker is asked
    try:
        client = AlephClient(timeout=arguments.timeout)
    except ClientError as error:
        raise BrokerUnavailableError(str(error)) from error
    with client:
        _warn_without_daemon(client, arguments.timeout)
        return run(arguments, client)


def _failure(error: Exception) -> tuple[int, str]:
    """The exit code and the message of a failed command."""
    if isinstance(error, RemoteError):
        return Exit.ERROR_ANSWER, _remote_error(error)
    if isinstance(error, CallTimeoutError):
        hint = "Is alephdaemon running? (`alephdaemon status`)"
        return Exit.NO_ANSWER, f"{error}; no daemon answered. {hint}"
    if isinstance(error, BrokerError):
        return Exit.BROKER, f"cannot reach the broker: {error}"
    if isinstance(error, ConfigError):
        return Exit.CONFIG, str(error)
    if isinstance(error, ClientError):
        return Exit.BROKER, str(error)
    return Exit.USAGE, str(error)


@quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    """The ``aleph`` command; the exit code (:class:`Exit`)."""
    arguments = build_parser().parse_args(argv)
    # The libraries' lines (each reconnect attempt, pika's errors) are for daemons' logs;
    # a command says what went wrong once, at the end.
    logging.basicConfig(level=logging.CRITICAL, format="aleph: %(message)s")
    try:
        return _ask(arguments)
    except BrokenPipeError:
        raise  # the reader went away: quiet_broken_pipe ends quietly
    except (BrokerError, ClientError, ConfigError, MessageError, OSError) as error:
        code, message = _failure(error)
        print(f"aleph: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
