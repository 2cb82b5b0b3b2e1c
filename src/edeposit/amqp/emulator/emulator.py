"""The Aleph X-Server emulator as an object: start it, point a client at it, stop it.

::

    with AlephEmulator() as emu:          # the shipped sample corpus
        httpx.get(emu.url + "/X", params={"op": "find", "base": "nkc",
                                          "request": "sbn=80-251-0225-4"})
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self, TextIO

from edeposit.amqp.emulator.corpus import default_corpus
from edeposit.amqp.emulator.envelope import SessionIds
from edeposit.amqp.emulator.faults import FaultPlan, Faults
from edeposit.amqp.emulator.index import CorpusIndex
from edeposit.amqp.emulator.server import EXPORT_PATH, Backend, EmulatorServer
from edeposit.amqp.emulator.xservices import DEFAULT_BASES, XServices

__all__ = ["AlephEmulator"]

log = logging.getLogger(__name__)


class AlephEmulator:
    """A fake Aleph X-Server over a MARC corpus, with the export form and faults on demand.

    Args:
        corpus: files and folders of MARC records; None for the shipped sample corpus.
        host: the address to listen on.
        port: the port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        set_limit: the most entries a ``find`` stores in a set (NKP: 2500).
        index_dir: where the corpus index is kept; None for the user's cache folder.
        faults: the faults in force at start (none by default).
        bases: the logical bases ``find`` and ``find_doc`` accept.
        library: the physical library of ``ill_get_doc`` and ``ill_get_set``.
        legacy_export: reject exports the pre-2015 way (page text, no ``Aleph-Info``).
        seed: seed of the session ids and of the random faults.
        progress: a terminal to draw the progress of indexing a corpus on (the command
            passes stderr when it is one).

    Raises:
        FileNotFoundError: (from :meth:`start`) a corpus path does not exist.
    """

    def __init__(
        self,
        corpus: Sequence[Path | str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        set_limit: int = 2500,
        index_dir: Path | str | None = None,
        faults: Faults | None = None,
        bases: Iterable[str] = DEFAULT_BASES,
        library: str = "NKC01",
        legacy_export: bool = False,
        seed: int = 0,
        progress: TextIO | None = None,
    ) -> None:
        if set_limit < 1:
            raise ValueError("set_limit must be at least 1")
        self.corpus = list(corpus) if corpus is not None else default_corpus()
        self.host = host
        self.port = port
        self.set_limit = set_limit
        self.index_dir = index_dir
        self.bases = tuple(bases)
        self.library = library
        self.legacy_export = legacy_export
        self.seed = seed
        self.progress = progress
        self._initial_faults = faults or Faults()
        self.index: CorpusIndex | None = None
        self._backend: Backend | None = None
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> Self:
        """Indexes the corpus (or reuses its index) and starts serving; returns when listening."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self.index = CorpusIndex.open(self.corpus, self.index_dir, progress=self.progress)
        try:
            xservices = XServices(
                self.index,
                bases=self.bases,
                library=self.library,
                set_limit=self.set_limit,
                session_ids=SessionIds(f"aleph-emulator-{self.seed}"),
            )
            plan = FaultPlan(self._initial_faults, seed=self.seed)
            self._backend = Backend(xservices, plan, legacy_export=self.legacy_export)
            self._server = EmulatorServer((self.host, self.port), self._backend)
        except BaseException:
            self.index.close()
            raise
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"aleph-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info(
            "Aleph emulator on %s: %d records (%s index %s)",
            self.url,
            self.index.record_count,
            "built" if self.index.built else "reused",
            self.index.path,
        )
        return self

    def stop(self) -> None:
        """Stops serving, closes every connection and the index; safe to call twice."""
        server, backend, thread = self._server, self._backend, self._thread
        self._server = self._thread = None
        if server is None or backend is None or thread is None:
            return
        backend.stopping.set()  # wakes requests waiting in latency or a hang
        server.shutdown()  # the accept loop ends
        server.close_connections()  # idle keep-alive readers wake up and end
        server.server_close()  # joins the connection threads
        thread.join()
        if self.index is not None:
            self.index.close()
        log.info("Aleph emulator on port %d stopped", self.port)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the emulator is serving."""
        return self._server is not None

    # -- addresses --------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL (``ALEPH_URL``); X-Services are at ``url + "/X"``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def export_url(self) -> str:
        """The export form's URL (``ALEPH_EXPORT_URL``)."""
        return self.url + EXPORT_PATH

    # -- faults and observations --------------------------------------------------------

    def _running_backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError("the emulator has not been started")
        return self._backend

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._backend.plan.faults if self._backend else self._initial_faults

    def set_faults(
        self,
        *,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        drop_rate: float = 0.0,
        forbidden_rate: float = 0.0,
        maintenance_rate: float = 0.0,
        malformed_rate: float = 0.0,
        hang_seconds: float = 0.0,
        licence_limit: int | None = None,
        licence_window: float = 120.0,
    ) -> Faults:
        """Replaces the faults in force (keywords not given are off); restarts licence counting."""
        faults = Faults(
            latency=latency,
            latency_jitter=latency_jitter,
            drop_rate=drop_rate,
            forbidden_rate=forbidden_rate,
            maintenance_rate=maintenance_rate,
            malformed_rate=malformed_rate,
            hang_seconds=hang_seconds,
            licence_limit=licence_limit,
            licence_window=licence_window,
        )
        if self._backend is None:
            self._initial_faults = faults
        else:
            self._backend.plan.faults = faults
        return faults

    def clear_faults(self) -> None:
        """Turns every fault off."""
        self.set_faults()

    @property
    def exports(self) -> list[dict[str, str]]:
        """The accepted export forms (field → value), newest last."""
        return self._running_backend().exports

    @property
    def request_count(self) -> int:
        """How many X requests the emulator has received."""
        return self._running_backend().request_count

    @property
    def call_stats(self) -> dict[str, float]:
        """Catalogue calls so far: ``request_count`` (X), ``export_count`` (export posts,
        accepted or not), ``call_count`` (both), ``calls_per_second`` (the last 10 s)."""
        return self._running_backend().call_stats()
