"""``aleph``: ask the Aleph daemon from a terminal and read the answer as a table.

::

    aleph search --isbn 80-251-0225-4
    aleph search --isbn 80-251-0225-4 --json [--generation 2014]
    aleph count --author Raymond
    aleph validate 80-251-0225-4
    aleph export publication.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from edeposit.amqp import settings as settings_module
from edeposit.amqp.aleph.queries import (
    AuthorQuery,
    DocumentQuery,
    GenericQuery,
    ICZQuery,
    ISBNQuery,
    PublisherQuery,
    Query,
    TitleQuery,
)
from edeposit.amqp.aleph.records import AlephRecord, EPublication
from edeposit.amqp.client import AlephClient, ClientError, RemoteError
from edeposit.amqp.config import ConfigError
from edeposit.amqp.errors import MessageError
from edeposit.amqp.serializers import deserialize
from edeposit.amqp.wire.codec import WireOptions, encode
from edeposit.amqp.wire.options import GENERATIONS

__all__ = ["build_parser", "format_records", "main"]


def format_records(records: Sequence[AlephRecord]) -> str:
    """Records as an aligned text table: number, ISBN, title, authors, publisher, year."""
    header = ("doc number", "ISBN", "title", "authors", "publisher", "year")
    rows = [header]
    for record in records:
        publication = record.epublication
        rows.append(
            (
                f"{record.docNumber:09d}",
                ", ".join(publication.ISBN),
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
        prog="aleph", description="Query the Aleph catalogue through the Aleph daemon."
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (60)")
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="print the matching records as a table")
    _add_query_options(search)
    search.add_argument("--json", action="store_true", help="print the records as JSON")
    search.add_argument(
        "--generation",
        choices=GENERATIONS,
        default=GENERATIONS[-1],
        help="--json: the wire form to print, as these clients read it (default %(default)s:"
        " every field, URL lists and each record's semantic_info; 2014: the original 18-field"
        " publication)",
    )
    count = commands.add_parser("count", help="print how many records match")
    _add_query_options(count)
    validate = commands.add_parser("validate", help="is this ISBN valid?")
    validate.add_argument("isbn")
    export = commands.add_parser("export", help="export a publication (JSON EPublication file)")
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
        return 0 if valid else 1
    else:
        publication = deserialize(arguments.file.read_bytes())
        if not isinstance(publication, EPublication):
            raise MessageError(f"{arguments.file}: expected an EPublication")
        print(f"exported: ISBN {client.export(publication, arguments.timeout)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The ``aleph`` command."""
    arguments = build_parser().parse_args(argv)
    try:
        with AlephClient(timeout=arguments.timeout) as client:
            return run(arguments, client)
    except RemoteError as error:
        print(
            f"aleph: the catalogue answered {error.exception_name}: {error.message}",
            file=sys.stderr,
        )
    except (ClientError, ConfigError, MessageError, OSError) as error:
        print(f"aleph: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
