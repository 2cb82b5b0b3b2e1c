"""``aleph``: ask the Aleph daemon from a terminal and read the answer as a table.

::

    aleph search --isbn 80-251-0225-4
    aleph search --isbn 80-251-0225-4 --json [--generation 2014]
    aleph search --issn 1213-8215 --json [--generation 2016]
    aleph count --author Raymond [--json]
    aleph validate 80-251-0225-4        (or --isbn 80-251-0225-4)
    aleph export publication.json
    aleph --config site.json search --title unix

Options go before or after the subcommand (``aleph search --isbn X --timeout 5``). The
exit codes are :class:`Exit`; they tell "the ISBN is invalid" from "nobody answered",
and "the broker refused us" (settings, 78) from "the broker is not there" (5). An
unreachable broker is told at once, not after a wait.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import logging
import os
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
from edeposit.amqp.aleph.results import CountResult, ExportResult, ISBNValidationResult
from edeposit.amqp.client import AlephClient, ClientError, RemoteError
from edeposit.amqp.config import CONFIG_ENV_VAR, ConfigError
from edeposit.amqp.config_lookalikes import log as lookalikes_log
from edeposit.amqp.errors import (
    BrokerError,
    BrokerUnavailableError,
    CallTimeoutError,
    FatalBrokerError,
    MessageError,
)
from edeposit.amqp.marc.isbn import isbn_problem
from edeposit.amqp.runtime.console import (
    EXIT_BROKEN_PIPE,
    CommandParser,
    quiet_broken_pipe,
    seconds,
)
from edeposit.amqp.runtime.parameters import name_program
from edeposit.amqp.serializers import deserialize
from edeposit.amqp.wire.codec import WireOptions, encode
from edeposit.amqp.wire.message import Message
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
    #: A settings problem: bad settings, a refused login, a missing vhost.
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
  78   a settings problem: bad settings, a refused login, a missing vhost
  141  the output was closed early (| head)

settings: /etc/edeposit/amqp.json, ~/edeposit/amqp.json, $EDEPOSIT_AMQP_CONFIG (--config),
environment variables of the same names; docs/settings.md lists them all.
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


def _add_common_options(parser: argparse.ArgumentParser, default: object) -> None:
    """Options taken before or after the subcommand; after it, ``default`` is SUPPRESS,
    which keeps the value given before it."""
    parser.add_argument(
        "--timeout", type=seconds, default=default, help="seconds to wait (60)", metavar="S"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help=f"a JSON settings file (as ${CONFIG_ENV_VAR})",
    )
    parser.add_argument(
        "--json", action="store_true", default=default, help="print the answer as JSON"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="aleph",
        description="Query the Aleph catalogue through the Aleph daemon.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(timeout=60.0, config=None, json=False)
    _add_common_options(parser, argparse.SUPPRESS)
    common = CommandParser(add_help=False)
    _add_common_options(common, argparse.SUPPRESS)
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

    search = command("search", "print the matching records as a table (--json: as JSON)")
    _add_query_options(search)
    search.add_argument(
        "--generation",
        choices=GENERATIONS,
        default=None,
        help="--json: the wire form to print, as these clients read it (default: the daemon's,"
        " ALEPH_WIRE_GENERATION; 2016: parsed_info, an EPeriodical for a periodical, and"
        " semantic_info; 2015: every record an EPublication with URL lists and its"
        " semantic_info; 2014: the original 18-field publication)",
    )
    count = command("count", "print how many records match")
    _add_query_options(count)
    validate = command("validate", "is this ISBN valid, and if not, why? (exit 0 valid, 1 not)")
    isbn = validate.add_mutually_exclusive_group(required=True)
    isbn.add_argument("isbn", nargs="?", help="the ISBN (or --isbn ISBN)")
    isbn.add_argument("--isbn", dest="isbn_option", metavar="ISBN", help="the ISBN")
    export = command("export", "export a publication (JSON EPublication file)")
    export.add_argument("file", type=Path)
    return parser


def _print_json(value: Message | list[AlephRecord], generation: str) -> None:
    written = encode(value, WireOptions(generation=generation))
    print(json.dumps(json.loads(written), indent=2, ensure_ascii=False))


def _completed(records: list[AlephRecord], generation: str, written: str) -> list[AlephRecord]:
    """``records`` as the daemon wrote them (form ``written``), made ready for the later
    form ``generation``: what it adds (``invalid_ISBN``, ``id_number``, ``anotace``, every
    URL) is read again from each record's MARC ``xml``, never printed empty for lack of it."""
    if GENERATIONS.index(generation) <= GENERATIONS.index(written):
        return records
    completed = []
    for record in records:
        try:
            publication = EPublication.from_xml(record.xml)
        except ValueError as error:  # XMLError too
            print(
                f"aleph: record {record.docNumber}: its xml cannot be read ({error}); the fields"
                f" the {written} form lacks are unknown and printed empty",
                file=sys.stderr,
            )
            publication = record.epublication
        completed.append(dataclasses.replace(record, epublication=publication))
    return completed


def run(arguments: argparse.Namespace, client: AlephClient) -> int:
    """Carry out one parsed command with ``client``; the exit code."""
    cfg = client.settings
    if arguments.command in ("search", "count") and arguments.base is None:
        arguments.base = cfg.ALEPH_DEFAULT_BASE
    written = cfg.ALEPH_WIRE_GENERATION  # what the daemon writes, as the settings say
    if arguments.command == "search":
        records = client.search(_query(arguments), arguments.timeout)
        if arguments.json:
            generation = arguments.generation or written
            _print_json(_completed(records, generation, written), generation)
        else:
            print(format_records(records))
    elif arguments.command == "count":
        hits = client.count(_query(arguments), arguments.timeout)
        if arguments.json:
            _print_json(CountResult(hits), written)
        else:
            print(hits)
    elif arguments.command == "validate":
        return _validate(arguments, client)
    else:
        publication = deserialize(arguments.file.read_bytes())
        if not isinstance(publication, EPublication):
            raise MessageError(f"{arguments.file}: expected an EPublication")
        isbn = client.export(publication, arguments.timeout)
        if arguments.json:
            _print_json(ExportResult(isbn), written)
        else:
            print(f"exported: ISBN {isbn}")
    return 0


def _validate(arguments: argparse.Namespace, client: AlephClient) -> int:
    """Ask the daemon; say why an invalid ISBN is invalid."""
    isbn = arguments.isbn if arguments.isbn is not None else arguments.isbn_option
    valid = client.validate_isbn(isbn, arguments.timeout)
    why = None if valid else isbn_problem(isbn) or "the daemon says so"
    if arguments.json:
        _print_json(ISBNValidationResult(valid), client.settings.ALEPH_WIRE_GENERATION)
        if why:
            print(f"aleph: {isbn} is not a valid ISBN: {why}", file=sys.stderr)
    else:
        print(f"{isbn}: valid" if valid else f"{isbn}: invalid: {why}")
    return Exit.OK if valid else Exit.INVALID


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
    if arguments.config:
        os.environ[CONFIG_ENV_VAR] = arguments.config
        settings_module.reload()
    settings_module.get()
    if arguments.command == "export":
        arguments.file.open("rb").close()  # an unreadable file is told before the broker is asked
    try:
        # A command gives up once every broker node failed an attempt: no silent wait.
        client = AlephClient(timeout=arguments.timeout, fail_fast=True)
    except ClientError as error:
        if isinstance(error.__cause__, FatalBrokerError):
            raise error.__cause__ from None  # refused login, missing vhost: settings
        raise BrokerUnavailableError(str(error)) from error
    with client:
        _warn_without_daemon(client, arguments.timeout)
        return run(arguments, client)


def _failure(error: Exception) -> tuple[int, str]:  # noqa: PLR0911 - one return per kind
    """The exit code and the message of a failed command."""
    if isinstance(error, RemoteError):
        return Exit.ERROR_ANSWER, _remote_error(error)
    if isinstance(error, CallTimeoutError):
        hint = "Is alephdaemon running? (`alephdaemon status`)"
        return Exit.NO_ANSWER, f"{error}; no daemon answered. {hint}"
    if isinstance(error, FatalBrokerError):
        return Exit.CONFIG, str(error)
    if isinstance(error, BrokerError):
        return Exit.BROKER, f"cannot reach the broker: {error}"
    if isinstance(error, ConfigError):
        return Exit.CONFIG, str(error)
    if isinstance(error, ClientError):
        return Exit.BROKER, str(error)
    if isinstance(error, OSError) and error.filename is not None:
        return Exit.USAGE, f"cannot read {error.filename}: {error.strerror}"
    return Exit.USAGE, str(error)


@quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    """The ``aleph`` command; the exit code (:class:`Exit`)."""
    name_program("aleph")
    arguments = build_parser().parse_args(argv)
    # The libraries' lines (each reconnect attempt, pika's errors) are for daemons' logs;
    # a command says what went wrong once, at the end. A misspelt setting is told, though.
    logging.basicConfig(level=logging.CRITICAL, format="aleph: %(message)s")
    lookalikes_log.setLevel(logging.WARNING)
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
