"""CCL, the X-Server's search language, parsed and compiled to an SQLite FTS5 query.

Grammar (operators case-insensitive; ``or`` binds loosest, ``and``/``not`` left to right)::

    query := conj ("or" conj)*
    conj  := unit (("and" | "not") unit)*
    unit  := CODE "=" value | "(" query ")" | word+
    value := "(" query ")" | word+          # bare words inside use CODE

A run of words is one term: each word must occur (``adjacent=N``, the default) or the
words must occur as a phrase (``adjacent=Y``). A trailing ``*`` (or ``?``) truncates a
word. Terms without ``CODE=`` use the request's ``code`` parameter, else ``wrd``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edeposit.amqp.emulator.search_keys import INDEX_COLUMNS, compact_identifier, isbn_forms
from edeposit.amqp.errors import EdepositAMQPError

__all__ = ["CCLError", "Op", "Term", "compile_query", "parse"]

#: Longest request the X-Server accepts, in characters.
MAX_REQUEST = 500
_TOKEN = re.compile(r'\s*(?:(?P<punct>[()=])|"(?P<quoted>[^"]*)"|(?P<word>[^\s()="]+))')
_OPERATORS = frozenset({"and", "or", "not"})
_IDENTIFIER_CODES = frozenset({"sbn", "isn", "ssn", "icz", "sys", "cnb"})


class CCLError(EdepositAMQPError, ValueError):
    """The request is not valid CCL, or names an index code the catalogue does not have."""


@dataclass(frozen=True, slots=True)
class Term:
    """Words to look up in one index."""

    code: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Op:
    """A boolean combination of two sub-queries: ``and``, ``or`` or ``not`` (and-not)."""

    op: str
    left: Term | Op
    right: Term | Op


Node = Term | Op


def _tokens(request: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(request):
        match = _TOKEN.match(request, position)
        if match is None or match.end() == position:
            if request[position:].strip():
                raise CCLError(f"Syntax error in request at position {position + 1}")
            break
        position = match.end()
        if match.group("punct"):
            tokens.append(("punct", match.group("punct")))
        elif match.group("quoted") is not None:
            tokens.append(("word", match.group("quoted")))
        elif match.group("word"):
            word = match.group("word")
            kind = "op" if word.lower() in _OPERATORS else "word"
            tokens.append((kind, word.lower() if kind == "op" else word))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise CCLError("Syntax error: the request ends too early")
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        if self.peek() is None:
            raise CCLError(f"Syntax error: expected {text!r} at the end of the request")
        token = self.take()
        if token != ("punct", text):
            raise CCLError(f"Syntax error: expected {text!r}, found {token[1]!r}")

    def query(self, code: str) -> Node:
        node = self.conjunction(code)
        while self.peek() == ("op", "or"):
            self.take()
            node = Op("or", node, self.conjunction(code))
        return node

    def conjunction(self, code: str) -> Node:
        node = self.unit(code)
        while (token := self.peek()) in (("op", "and"), ("op", "not")):
            self.take()
            assert token is not None
            node = Op(token[1], node, self.unit(code))
        return node

    def unit(self, code: str) -> Node:
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            node = self.query(code)
            self.expect(")")
            return node
        if token is not None and token[0] == "word" and self.peek(1) == ("punct", "="):
            self.position += 2
            inner = token[1].lower()
            if inner not in INDEX_COLUMNS:
                raise CCLError(f"Unknown index code: {token[1]}")
            if self.peek() == ("punct", "("):
                self.take()
                node = self.query(inner)
                self.expect(")")
                return node
            return self.words(inner)
        return self.words(code)

    def words(self, code: str) -> Term:
        words: list[str] = []
        while (token := self.peek()) is not None and token[0] == "word":
            if self.peek(1) == ("punct", "="):
                break
            words.append(token[1])
            self.position += 1
        if not words:
            found = self.peek()
            raise CCLError(
                "Syntax error: a search term is missing"
                + (f" before {found[1]!r}" if found else " at the end")
            )
        return Term(code, tuple(words))


def parse(request: str, default_code: str = "wrd") -> Node:
    """The request's syntax tree.

    Raises:
        CCLError: a syntax error, an empty or over-long request, or an unknown index code.
    """
    if len(request) > MAX_REQUEST:
        raise CCLError(f"Request is longer than {MAX_REQUEST} characters")
    code = default_code.strip().lower() or "wrd"
    if code not in INDEX_COLUMNS:
        raise CCLError(f"Unknown index code: {default_code}")
    tokens = _tokens(request)
    if not tokens:
        raise CCLError("Syntax error: the request is empty")
    parser = _Parser(tokens)
    node = parser.query(code)
    leftover = parser.peek()
    if leftover is not None:
        raise CCLError(f"Syntax error: unexpected {leftover[1]!r}")
    return node


def _fts_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _term_words(term: Term) -> list[tuple[str, bool]]:
    """(text, truncated) for each word of ``term`` that can match anything."""
    words: list[tuple[str, bool]] = []
    for word in term.words:
        truncated = word.endswith(("*", "?"))
        stem = word.rstrip("*?")
        if term.code in ("sbn", "isn"):
            if not any(ch.isdigit() for ch in stem):
                continue  # a qualifier such as "(brož.)" or "Kč", not part of the number
            texts = isbn_forms(stem)[:1] if not truncated else [compact_identifier(stem)]
        elif term.code == "sys":
            digits = compact_identifier(stem)
            texts = [digits.zfill(9) if digits.isdigit() and not truncated else digits]
        elif term.code in _IDENTIFIER_CODES:
            texts = [compact_identifier(stem)]
        else:
            texts = [stem]
        words.extend((text, truncated) for text in texts if any(ch.isalnum() for ch in text))
    return words


def _compile_term(term: Term, adjacent: bool) -> str:
    words = _term_words(term)
    if not words:
        raise CCLError(f"Empty search term for index code {term.code}")
    columns = "{" + " ".join(INDEX_COLUMNS[term.code]) + "}"
    if adjacent and len(words) > 1:
        phrase = _fts_string(" ".join(text for text, _ in words))
        return f"{columns} : {phrase}{' *' if words[-1][1] else ''}"
    parts = [f"{columns} : {_fts_string(text)}{' *' if cut else ''}" for text, cut in words]
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def compile_query(node: Node, adjacent: bool = False) -> str:
    """The FTS5 ``MATCH`` expression equivalent to the CCL tree ``node``.

    Raises:
        CCLError: a term holds no searchable word.
    """
    if isinstance(node, Term):
        return _compile_term(node, adjacent)
    operator = {"and": "AND", "or": "OR", "not": "NOT"}[node.op]
    left = compile_query(node.left, adjacent)
    right = compile_query(node.right, adjacent)
    return f"({left} {operator} {right})"
