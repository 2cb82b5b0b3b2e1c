"""The X-Services operations: request parameters in, reply body out (ALEPH-XSERVICES.md §7).

Every failure the catalogue reports on purpose is an ``<error>`` inside the op's root
element (``<login>`` for an unknown op or library), never an exception: a malformed
parameter cannot break the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from edeposit.amqp.emulator import ccl
from edeposit.amqp.emulator.envelope import SessionIds, element, error_reply, reply
from edeposit.amqp.emulator.index import CorpusIndex, SearchError, StoredRecord
from edeposit.amqp.emulator.rendering import marcxml_text, oai_marc_text
from edeposit.amqp.emulator.result_sets import ResultSet, ResultSets
from edeposit.amqp.errors import EdepositAMQPError

__all__ = ["DEFAULT_BASES", "XServices", "parse_entries", "root_of"]

log = logging.getLogger(__name__)

#: Logical bases NKP listed (2014) plus the e-deposit base; all search the same corpus.
DEFAULT_BASES = (
    "nkc", "nkok", "ksl", "anl", "nak", "mobil-nkc", "stt", "kkl", "aut-z", "cnb", "aut",
    "skc", "slk", "ktd", "adr", "kzk", "skcp", "cze-dep",
)  # fmt: skip
#: Reply root of each op (the request may spell it with ``_`` or ``-``).
ROOTS = {
    "find": "find",
    "present": "present",
    "ill_get_set": "ill-get-set",
    "ill_get_doc": "ill-get-doc",
    "find_doc": "find-doc",
}
EMPTY_SET = "empty set"
DOCUMENT_ERROR = "Error reading document"
#: Largest single entry number accepted in ``set_entry`` (nine digits, as the server pads).
_MAX_ENTRY = 999_999_999


class _RefusalError(EdepositAMQPError):
    """An ``<error>`` to answer with (``root`` overrides the op's root, e.g. ``login``)."""

    def __init__(self, text: str, root: str | None = None) -> None:
        super().__init__(text)
        self.root = root


def op_name(params: Mapping[str, str]) -> str:
    """The op of a request, lower case with underscores (``find-doc`` → ``find_doc``)."""
    return params.get("op", "").strip().lower().replace("-", "_")


def root_of(params: Mapping[str, str]) -> str:
    """The root element a reply to these parameters has."""
    return ROOTS.get(op_name(params), "login")


def parse_entries(text: str) -> list[tuple[int, int]]:
    """``set_entry`` as inclusive ranges: ``5``, ``1-25``, ``000000001-000000010``, ``5,6,11``.

    Raises:
        ValueError: not numbers, a zero, or a range that runs backwards.
    """
    ranges = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        numbers = [first.strip(), last.strip() if dash else first.strip()]
        if not all(n.isascii() and n.isdigit() and len(n) <= 9 for n in numbers):
            raise ValueError(f"Invalid set_entry: {text!r}")
        start, end = int(numbers[0]), int(numbers[1])
        if start < 1 or end < start:
            raise ValueError(f"Invalid set_entry: {text!r}")
        ranges.append((start, end))
    return ranges


def _walk(ranges: list[tuple[int, int]], entries: int) -> Iterator[int]:
    """The entry numbers in order, stopping after the first one past ``entries``."""
    for start, end in ranges:
        if start > entries:
            yield start
            return
        yield from range(start, min(end, entries) + 1)
        if end > entries:
            yield entries + 1
            return


@dataclass(frozen=True, slots=True)
class _Request:
    params: Mapping[str, str]

    def get(self, *names: str) -> str:
        for name in names:
            value = self.params.get(name, "").strip()
            if value:
                return value
        return ""

    def require(self, *names: str) -> str:
        value = self.get(*names)
        if not value:
            raise _RefusalError(f"Missing parameter: {names[0]}")
        return value


class XServices:
    """Answers X-Services requests over one corpus index; thread-safe."""

    def __init__(
        self,
        index: CorpusIndex,
        *,
        bases: tuple[str, ...] = DEFAULT_BASES,
        library: str = "NKC01",
        set_limit: int = 2500,
        session_ids: SessionIds | None = None,
    ) -> None:
        self.index = index
        self.bases = frozenset(base.lower() for base in bases)
        self.library = library
        self.set_limit = set_limit
        self.session_ids = session_ids or SessionIds()
        self.sets = ResultSets()
        self._ops: dict[str, Callable[[_Request], list[str]]] = {
            "find": self._find,
            "present": self._present,
            "ill_get_set": self._ill_get_set,
            "ill_get_doc": self._ill_get_doc,
            "find_doc": self._find_doc,
        }

    def answer(self, params: Mapping[str, str]) -> bytes:
        """The reply body for request ``params`` (names lower case)."""
        op = op_name(params)
        handler = self._ops.get(op)
        session_id = self.session_ids.next()
        if handler is None:
            text = f"Unknown operation: {op}" if op else "Missing parameter: op"
            return error_reply("login", text, session_id)
        try:
            return reply(ROOTS[op], handler(_Request(params)), session_id)
        except _RefusalError as refusal:
            log.info("X %s refused: %s", op, refusal)
            return error_reply(refusal.root or ROOTS[op], str(refusal), session_id)

    def licence_error(self, params: Mapping[str, str]) -> bytes:
        """The reply when the licence's session limit is exhausted."""
        return error_reply(
            root_of(params),
            "License limit exceeded - too many sessions, try again later",
            self.session_ids.next(),
        )

    def _check_base(self, request: _Request) -> str:
        base = request.require("base").lower()
        if base not in self.bases:
            raise _RefusalError(f"Base {base} does not exist")
        return base

    def _set(self, request: _Request) -> ResultSet:
        number = request.require("set_number", "set_no")
        result = self.sets.get(number)
        if result is None:
            raise _RefusalError(f"Set number {number} does not exist")
        return result

    def _find(self, request: _Request) -> list[str]:
        base = self._check_base(request)
        text = request.require("request")
        adjacent = request.get("adjacent").upper().startswith("Y")
        try:
            match = ccl.compile_query(ccl.parse(text, request.get("code") or "wrd"), adjacent)
            hits, ids = self.index.search(match, self.set_limit)
        except (ccl.CCLError, SearchError) as error:
            raise _RefusalError(str(error)) from error
        if not hits:
            raise _RefusalError(EMPTY_SET)
        result = self.sets.create(hits, ids, base)
        return [
            element("set_number", result.number),
            element("no_records", f"{hits:09d}"),
            element("no_entries", f"{result.entries:09d}"),
        ]

    def _present(self, request: _Request) -> list[str]:
        result = self._set(request)
        try:
            ranges = parse_entries(request.require("set_entry"))
        except ValueError as error:
            raise _RefusalError(str(error)) from error
        numbers = list(_walk(ranges, result.entries))
        missing = numbers.pop() if numbers and numbers[-1] > result.entries else None
        records = self.index.fetch([result.ids[n - 1] for n in numbers])
        lines: list[str] = []
        for number in numbers:
            stored = records.get(result.ids[number - 1])
            if stored is None:
                continue
            lines += ["<record>", "<record_header>", element("set_entry", f"{number:09d}")]
            lines += ["</record_header>", element("doc_number", f"{stored.doc_number:09d}")]
            lines += ["<metadata>", oai_marc_text(stored.any_dialect), "</metadata>", "</record>"]
        if missing is not None:
            lines.append(
                element("error", f"There is no entry number: {missing} in set number given")
            )
        return lines

    def _ill_get_set(self, request: _Request) -> list[str]:
        result = self._set(request)
        start_text = request.get("start_point") or "1"
        count_text = request.get("no_docs") or str(result.entries)
        if not all(t.isascii() and t.isdigit() and len(t) <= 9 for t in (start_text, count_text)):
            raise _RefusalError(f"Invalid start_point {start_text!r} or no_docs {count_text!r}")
        start = int(start_text)
        if not 1 <= start <= result.entries:
            raise _RefusalError(f"There is no entry number: {start} in set number given")
        chosen = result.ids[start - 1 : start - 1 + int(count_text)]
        numbers = self.index.fetch(list(chosen))
        lines = [
            element("doc-number", f"{numbers[i].doc_number:09d}") for i in chosen if i in numbers
        ]
        lines += [element("no-docs", f"{len(lines):09d}"), element("set-library", self.library)]
        return lines

    def _document(self, request: _Request, *names: str) -> StoredRecord:
        text = request.require(*names)[:9]
        stored = self.index.by_doc_number(int(text)) if text.isdigit() else None
        if stored is None:
            raise _RefusalError(DOCUMENT_ERROR)
        return stored

    def _ill_get_doc(self, request: _Request) -> list[str]:
        library = request.get("library")
        if library.upper() != self.library.upper():
            raise _RefusalError(f"Library {library or '(none)'} is not defined", root="login")
        stored = self._document(request, "doc_number", "doc_num")
        return [marcxml_text(stored.marc if stored.marc is not None else stored.any_dialect)]

    def _find_doc(self, request: _Request) -> list[str]:
        self._check_base(request)
        stored = self._document(request, "doc_num", "doc_number")
        oai = oai_marc_text(stored.any_dialect)
        return ["<record>", "<metadata>", oai, "</metadata>", "</record>"]
