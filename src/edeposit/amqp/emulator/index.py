"""The on-disk search index of a corpus (SQLite with FTS5), built once and reused.

An index file is named after a digest of the corpus files' paths, sizes and
modification times, so an unchanged corpus opens its existing index in milliseconds
and a changed one gets a new index. A build writes a private temporary file and renames
it into place, so emulators starting side by side never see half an index. Requests
only read it, through a pool of read-only connections (SQLite runs queries without
holding the GIL, so concurrent clients are served in parallel).

Records published at run time (accepted exports) live in a small in-memory overlay
with the same schema; searches and look-ups see both.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from edeposit.amqp.emulator.corpus import (
    SourceRecord,
    expand_paths,
    fingerprint,
    read_corpus,
    system_number,
)
from edeposit.amqp.emulator.progress import IndexProgress
from edeposit.amqp.emulator.record import Field, Fields, pack, unpack
from edeposit.amqp.emulator.search_keys import COLUMNS, keys_of
from edeposit.amqp.errors import EdepositAMQPError

__all__ = ["CorpusIndex", "SearchError", "StoredRecord", "default_index_dir"]

log = logging.getLogger(__name__)

#: Bumped whenever the schema or the extracted keys change, so old index files are not reused.
SCHEMA_VERSION = 5
#: First row id of records added at run time (never used by a corpus).
OVERLAY_BASE = 1 << 40
#: First system number handed to records that bring none (or a taken one).
GENERATED_BASE = 900_000_001
_BATCH = 5000

_SCHEMA = f"""
CREATE TABLE records (id INTEGER PRIMARY KEY, doc_number INTEGER NOT NULL,
                      control TEXT, oai TEXT, marc TEXT);
CREATE VIRTUAL TABLE keys USING fts5({", ".join(COLUMNS)}, content='', columnsize=0,
                                     tokenize='unicode61 remove_diacritics 2');
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
"""
_NAMES = ", ".join(COLUMNS)
_MARKS = ", ?" * len(COLUMNS)
_INSERT_KEYS = f"INSERT INTO keys(rowid, {_NAMES}) VALUES (?{_MARKS})"  # noqa: S608 - constants
_DELETE_KEYS = f"INSERT INTO keys(keys, rowid, {_NAMES}) VALUES ('delete', ?{_MARKS})"  # noqa: S608


class SearchError(EdepositAMQPError, ValueError):
    """The search index refused a query."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as served: its system number and its packed fields in each source dialect."""

    id: int
    doc_number: int
    oai: str | None
    marc: str | None

    @property
    def any_dialect(self) -> str:
        """The packed fields of the OAI-MARC source if there is one, else of the MARC one."""
        return self.oai if self.oai is not None else self.marc or ""


def default_index_dir() -> Path:
    """Where index files go by default: the user's cache folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "edeposit-amqp" / "aleph-emulator"


def _control_of(fields: Fields) -> str | None:
    for field in fields:
        if field.tag == "001":
            value = field.value if field.control else "".join(v for _, v in field.subfields[:1])
            return value.strip() or None
    return None


class _Builder:
    """Writes one index file from a corpus in a single pass (duplicates merged at the end)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection
        self.controls: dict[str, tuple[int, str]] = {}
        self.used: set[int] = set()
        self.generated = GENERATED_BASE
        self.records: list[tuple[int, int, str | None, str | None, str | None]] = []
        self.keys: list[tuple[object, ...]] = []
        self.merges: list[tuple[int, SourceRecord]] = []
        self.count = 0
        self.duplicates = 0

    def doc_number(self, source: SourceRecord) -> int:
        number = system_number(source)
        if number is None or number in self.used or number > 999_999_999:
            while self.generated in self.used:
                self.generated += 1
            number = self.generated
        self.used.add(number)
        return number

    def add(self, source: SourceRecord) -> None:
        control = _control_of(source.fields)
        if control is not None and control in self.controls:
            record_id, dialects = self.controls[control]
            if source.dialect in dialects:
                self.duplicates += 1
            else:
                self.controls[control] = (record_id, dialects + source.dialect)
                self.merges.append((record_id, source))
            return
        self.count += 1
        record_id = self.count
        number = self.doc_number(source)
        if control is not None:
            self.controls[control] = (record_id, source.dialect)
        packed = pack(source.fields)
        oai, marc = (packed, None) if source.dialect == "oai" else (None, packed)
        self.records.append((record_id, number, control, oai, marc))
        self.keys.append((record_id, *keys_of(source.fields, number)))
        if len(self.records) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?)", self.records)
        self.db.executemany(_INSERT_KEYS, self.keys)
        self.records.clear()
        self.keys.clear()

    def merge(self) -> None:
        """Adds the second dialect of records seen twice, and re-indexes their union."""
        for record_id, source in self.merges:
            number, oai, marc = self.db.execute(
                "SELECT doc_number, oai, marc FROM records WHERE id = ?", (record_id,)
            ).fetchone()
            old = unpack(oai if oai is not None else marc)
            self.db.execute(_DELETE_KEYS, (record_id, *keys_of(old, number)))
            self.db.execute(_INSERT_KEYS, (record_id, *keys_of(old + tuple(source.fields), number)))
            column = "oai" if source.dialect == "oai" else "marc"
            self.db.execute(
                f"UPDATE records SET {column} = ? WHERE id = ?",  # noqa: S608 - fixed names
                (pack(source.fields), record_id),
            )


def _build(files: Sequence[Path], digest: str, target: Path, terminal: TextIO | None) -> None:
    """Write the index of ``files`` to ``target``; progress on ``terminal``, if given."""
    started = time.perf_counter()
    size = sum(file.stat().st_size for file in files)
    progress = IndexProgress(size, terminal) if terminal is not None else None
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        db = sqlite3.connect(temporary)
        try:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-200000"):
                db.execute(f"PRAGMA {pragma}")
            db.executescript(_SCHEMA)
            builder = _Builder(db)
            for source in read_corpus(files, progress.record_read if progress else None):
                builder.add(source)
            if progress is not None:
                progress.writing()
            builder.flush()
            builder.merge()
            db.execute("CREATE UNIQUE INDEX records_doc_number ON records(doc_number)")
            db.execute("INSERT INTO keys(keys) VALUES ('optimize')")
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("fingerprint", digest), ("records", str(builder.count))],
            )
            db.commit()
            if progress is not None:
                progress.finish()
            seconds = time.perf_counter() - started
            log.info(
                "indexed %d records (%d duplicates, %d merged) from %d files (%.1f MB) in"
                " %.1f s, %.0f records/s",
                builder.count,
                builder.duplicates,
                len(builder.merges),
                len(files),
                size / (1024 * 1024),
                seconds,
                (builder.count + builder.duplicates + len(builder.merges)) / max(seconds, 1e-9),
            )
        finally:
            if progress is not None:
                progress.finish()  # also when the build failed: the next line is clean
            db.close()
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _valid(path: Path, digest: str) -> bool:
    try:
        db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == digest


def _overlay() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.executescript(_SCHEMA)
    return db


class CorpusIndex:
    """Search and look-up over the records of a corpus; thread-safe.

    Attributes:
        path: the index file.
        built: whether opening it built the index (False: an existing index was reused).
        build_seconds: how long the build took (0 when reused).
        record_count: how many records the corpus holds.
    """

    def __init__(self, path: Path, *, built: bool, build_seconds: float) -> None:
        self.path = path
        self.built = built
        self.build_seconds = build_seconds
        self._uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._overlay = _overlay()
        with self._connection() as db:
            self.record_count = int(db.execute("SELECT count(*) FROM records").fetchone()[0])
            top = db.execute("SELECT max(doc_number) FROM records").fetchone()[0]
        self._next_doc_number = max(int(top or 0), 0) + 1
        self._next_overlay_id = OVERLAY_BASE

    @classmethod
    def open(
        cls,
        corpus: Iterable[Path | str],
        index_dir: Path | str | None = None,
        *,
        progress: TextIO | None = None,
    ) -> CorpusIndex:
        """The index of ``corpus`` (files and folders), built unless an up-to-date one exists.

        A build draws its progress on ``progress``, a terminal (:mod:`.progress`), and
        logs its totals when done.

        Raises:
            FileNotFoundError: a corpus path does not exist.
        """
        files = expand_paths(corpus)
        digest = f"v{SCHEMA_VERSION}-{fingerprint(files)}"
        folder = Path(index_dir) if index_dir is not None else default_index_dir()
        path = folder / f"corpus-{digest[:28]}.sqlite"
        if _valid(path, digest):
            return cls(path, built=False, build_seconds=0.0)
        started = time.perf_counter()
        _build(files, digest, path, progress)
        return cls(path, built=True, build_seconds=time.perf_counter() - started)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._pool.get_nowait()
        except queue.Empty:
            db = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
            with self._lock:
                self._connections.append(db)
        try:
            yield db
        finally:
            self._pool.put(db)

    def search(self, match: str, limit: int) -> tuple[int, list[int]]:
        """(hits, the first ``limit`` record ids in set order) for an FTS5 ``match``.

        Raises:
            SearchError: the index refused the query.
        """
        try:
            with self._connection() as db:
                hits, ids = _search(db, match, limit)
            if self._next_overlay_id == OVERLAY_BASE:  # nothing added at run time
                return hits, ids
            with self._lock:
                more, extra = _search(self._overlay, match, limit)
        except sqlite3.Error as error:
            raise SearchError(f"Syntax error in search request ({error})") from error
        return hits + more, (ids + extra)[:limit]

    def fetch(self, ids: Sequence[int]) -> dict[int, StoredRecord]:
        """The records with row ``ids`` (those that exist), by id."""
        found: dict[int, StoredRecord] = {}
        main = [i for i in ids if i < OVERLAY_BASE]
        with self._connection() as db:
            for start in range(0, len(main), 500):
                chunk = main[start : start + 500]
                found.update(_rows(db, f"id IN ({', '.join('?' * len(chunk))})", chunk))
        added = [i for i in ids if i >= OVERLAY_BASE]
        if added:
            with self._lock:
                found.update(_rows(self._overlay, f"id IN ({', '.join('?' * len(added))})", added))
        return found

    def by_doc_number(self, doc_number: int) -> StoredRecord | None:
        """The record with system number ``doc_number``, if there is one."""
        with self._connection() as db:
            rows = _rows(db, "doc_number = ?", [doc_number])
        if not rows:
            with self._lock:
                rows = _rows(self._overlay, "doc_number = ?", [doc_number])
        return next(iter(rows.values()), None)

    def add(self, fields: Sequence[Field]) -> StoredRecord:
        """Adds a record at run time (not to the file); returns it with its new system number."""
        with self._lock:
            record_id, number = self._next_overlay_id, self._next_doc_number
            self._next_overlay_id += 1
            self._next_doc_number += 1
            record = StoredRecord(record_id, number, None, pack(fields))
            self._overlay.execute(
                "INSERT INTO records VALUES (?, ?, ?, NULL, ?)",
                (record_id, number, _control_of(tuple(fields)), record.marc),
            )
            self._overlay.execute(_INSERT_KEYS, (record_id, *keys_of(tuple(fields), number)))
        return record

    def close(self) -> None:
        """Closes every connection; the index file stays for the next start."""
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
            self._overlay.close()


def _search(db: sqlite3.Connection, match: str, limit: int) -> tuple[int, list[int]]:
    ids = [
        row[0]
        for row in db.execute(
            "SELECT rowid FROM keys WHERE keys MATCH ? ORDER BY rowid LIMIT ?", (match, limit)
        )
    ]
    if len(ids) < limit:
        return len(ids), ids
    hits = db.execute("SELECT count(*) FROM keys WHERE keys MATCH ?", (match,)).fetchone()[0]
    return int(hits), ids


def _rows(db: sqlite3.Connection, where: str, args: Sequence[int]) -> dict[int, StoredRecord]:
    query = f"SELECT id, doc_number, oai, marc FROM records WHERE {where}"  # noqa: S608
    return {row[0]: StoredRecord(row[0], row[1], row[2], row[3]) for row in db.execute(query, args)}
