"""The answer cache (ALEPH_CACHE_TTL): the cache itself, then the service against the
emulator over real HTTP, counting the calls the emulator received."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from edeposit.amqp.aleph import (
    CountRequest,
    CountResult,
    ExportRequest,
    ISBNQuery,
    SearchRequest,
    TitleQuery,
)
from edeposit.amqp.catalogue.cache import MISS, AnswerCache
from edeposit.amqp.catalogue.observer import NullObserver
from edeposit.amqp.catalogue.service import AlephService
from edeposit.amqp.emulator import AlephEmulator
from tests.wire_samples import RAYMOND

from .conftest import RAYMOND_ISBN, service_settings

NEW_ISBN = "978-80-7367-397-0"


class Lookups(NullObserver):
    """An observer remembering the cache's hits and misses."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def cache_looked_up(self, kind: str, hit: bool) -> None:
        self.seen.append((kind, hit))


# --- the cache ---------------------------------------------------------------------------


def test_answers_expire_after_the_ttl() -> None:
    now = [0.0]
    cache = AnswerCache(10.0, 100, clock=lambda: now[0])
    answer, generation = cache.lookup("key")
    assert answer is MISS
    cache.store("key", 42, generation)
    now[0] = 9.9
    assert cache.lookup("key")[0] == 42
    now[0] = 10.0
    assert cache.lookup("key")[0] is MISS
    assert len(cache) == 0  # the expired answer is gone, not only hidden


def test_least_recently_used_goes_first_past_the_bound() -> None:
    cache = AnswerCache(60.0, 2)
    for key in ("a", "b"):
        cache.store(key, key.upper(), cache.lookup(key)[1])
    assert cache.lookup("a")[0] == "A"  # "b" is now the least recently used
    cache.store("c", "C", cache.lookup("c")[1])
    assert cache.lookup("b")[0] is MISS
    assert (cache.lookup("a")[0], cache.lookup("c")[0]) == ("A", "C")
    assert len(cache) == 2


def test_an_answer_looked_up_before_a_clear_is_not_stored() -> None:
    cache = AnswerCache(60.0, 10)
    _, generation = cache.lookup("key")
    cache.clear()  # an export finished while the catalogue was being asked
    cache.store("key", "maybe older than the export", generation)
    assert cache.lookup("key")[0] is MISS
    _, generation = cache.lookup("key")
    cache.store("key", "fresh", generation)
    assert cache.lookup("key")[0] == "fresh"


def test_off_keeps_nothing() -> None:
    cache = AnswerCache(0.0, 10)
    assert not cache.enabled
    cache.store("key", 1, cache.lookup("key")[1])
    assert cache.lookup("key")[0] is MISS
    with pytest.raises(ValueError, match="negative"):
        AnswerCache(-1.0, 10)


# --- the service over HTTP ---------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[AlephEmulator]:
    with AlephEmulator() as running:
        yield running


def cached_service(emulator: AlephEmulator, observer: Lookups | None = None) -> AlephService:
    settings = service_settings(emulator, ALEPH_CACHE_TTL=60.0, ALEPH_CACHE_ENTRIES=100)
    return AlephService(settings, observer=observer or Lookups())


def test_a_repeated_search_or_count_asks_the_catalogue_once(emulator: AlephEmulator) -> None:
    lookups = Lookups()
    with cached_service(emulator, lookups) as service:
        calls = emulator.request_count
        first = service.handle(SearchRequest(ISBNQuery(RAYMOND_ISBN)))
        asked = emulator.request_count - calls
        assert asked >= 1 and first.records
        assert service.handle(SearchRequest(ISBNQuery(RAYMOND_ISBN))) == first
        assert emulator.request_count - calls == asked
        counted = service.handle(CountRequest(ISBNQuery(RAYMOND_ISBN)))
        assert counted == CountResult(len(first.records))
        assert service.handle(CountRequest(ISBNQuery(RAYMOND_ISBN))) == counted
        assert emulator.request_count - calls == asked + 1  # the count's one find
        assert lookups.seen == [
            ("search", False),
            ("search", True),
            ("count", False),
            ("count", True),
        ]


def test_the_key_is_the_whole_query(emulator: AlephEmulator) -> None:
    with cached_service(emulator) as service:
        calls = emulator.request_count
        service.handle(CountRequest(ISBNQuery(RAYMOND_ISBN)))
        service.handle(CountRequest(ISBNQuery(RAYMOND_ISBN, base="cnb")))  # another base
        service.handle(CountRequest(TitleQuery("unix")))
        assert emulator.request_count - calls == 3


def test_without_ttl_every_request_asks(emulator: AlephEmulator) -> None:
    with AlephService(service_settings(emulator)) as service:
        calls = emulator.request_count
        for _ in range(3):
            service.handle(CountRequest(ISBNQuery(RAYMOND_ISBN)))
        assert emulator.request_count - calls == 3


def test_an_export_leaves_no_stale_answer(emulator: AlephEmulator) -> None:
    with cached_service(emulator) as service:
        search = SearchRequest(ISBNQuery(NEW_ISBN))
        count = CountRequest(ISBNQuery(NEW_ISBN))
        assert service.handle(search).records == []
        assert service.handle(count) == CountResult(0)
        service.handle(ExportRequest(RAYMOND._replace(ISBN=[NEW_ISBN])))
        found = service.handle(search).records
        assert len(found) == 1
        assert NEW_ISBN in found[0].epublication.ISBN
        assert service.handle(count) == CountResult(1)


def test_concurrent_lookups_agree(emulator: AlephEmulator) -> None:
    with cached_service(emulator) as service:
        answers: list[object] = []

        def ask() -> None:
            for _ in range(10):
                answers.append(service.handle(CountRequest(TitleQuery("programování"))))

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 80
        assert len(set(map(repr, answers))) == 1
