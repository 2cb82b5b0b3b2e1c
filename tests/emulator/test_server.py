"""The server: concurrent clients, keep-alive, clean stops, the CLI as a subprocess, the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

import edeposit.amqp.emulator as package
from edeposit.amqp.emulator import AlephEmulator
from edeposit.amqp.emulator.__main__ import build_parser
from tests.emulator.helpers import X, parse
from tests.waiting import returns_within


def test_public_names() -> None:
    assert package.__all__ == ["AlephEmulator", "Faults"]
    emulator = AlephEmulator()
    for name in ("start", "stop", "url", "export_url", "faults", "set_faults", "clear_faults",
                 "exports", "request_count"):  # fmt: skip
        assert hasattr(AlephEmulator, name), name
    assert not emulator.running


def test_urls(emulator: AlephEmulator) -> None:
    assert emulator.url == f"http://127.0.0.1:{emulator.port}"
    assert emulator.port > 0
    assert emulator.export_url == emulator.url + "/aleph-cgi/e-deposit"


def test_concurrent_clients_get_their_own_sets(emulator: AlephEmulator) -> None:
    errors: list[BaseException] = []
    sets: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def client(number: int) -> None:
        try:
            with httpx.Client(timeout=10) as http:
                x = X(emulator, http)
                start.wait()
                for _ in range(10):
                    root = x.find("sbn=80-251-0225-4" if number % 2 else "wrd=praha")
                    present = x.root(
                        op="present", set_number=root.findtext("set_number"), set_entry="1"
                    )
                    assert present.find("record") is not None
                    with lock:
                        sets.append(root.findtext("set_number"))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(sets) == len(set(sets)) == 120
    assert emulator.request_count == 240


def test_keep_alive_serves_many_requests_on_one_connection(emulator: AlephEmulator) -> None:
    connections: set[object] = set()

    def remember(response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        connections.add(stream.get_extra_info("client_addr") if stream else None)

    with httpx.Client(event_hooks={"response": [remember]}) as http:
        for _ in range(5):
            http.get(emulator.url + "/X", params={"op": "find", "base": "nkc", "request": "unix"})
    assert len(connections) == 1


def test_stop_closes_idle_keep_alive_connections(index_dir: Path) -> None:
    emulator = AlephEmulator(index_dir=index_dir).start()
    with httpx.Client() as http:
        http.get(emulator.url + "/X", params={"op": "find", "base": "nkc", "request": "unix"})
        returns_within(20, emulator.stop)  # not held by the idle connection's 30 s
        emulator.stop()  # twice is harmless
        with pytest.raises(httpx.TransportError):
            http.get(emulator.url + "/X", params={"op": "find"})


def test_start_with_the_default_corpus_is_fast(index_dir: Path, corpus_reads: list[int]) -> None:
    AlephEmulator(index_dir=index_dir).start().stop()  # the index exists from here on
    reads = len(corpus_reads)
    with AlephEmulator(index_dir=index_dir) as emulator:
        assert emulator.index is not None
        assert not emulator.index.built
    assert len(corpus_reads) == reads  # fast: no record is read, nothing indexed again


def test_a_second_start_while_running_is_refused(emulator: AlephEmulator) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        emulator.start()


def _run_cli(*args: str, env_home: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "edeposit.amqp.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(env_home)},
    )
    assert process.stdout is not None
    return process, process.stdout.readline()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_its_url_serves_and_stops_on_a_signal(
    tmp_path: Path, aleph_fixtures: Path, sig: signal.Signals
) -> None:
    process, line = _run_cli(
        "--corpus", str(aleph_fixtures), "--latency", "0.01", env_home=tmp_path
    )
    try:
        assert line.startswith("aleph-emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        with httpx.Client(timeout=10) as http:
            root = parse(
                http.get(
                    url + "/X", params={"op": "find_doc", "base": "nkc", "doc_num": "3024"}
                ).content
            )
            assert root.xpath("//fixfield[@id='001']/text()") == ["nkc20150003024"]
            assert http.get(url + "/_emulator/stats").json()["faults"]["latency"] == 0.01
        process.send_signal(sig)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def test_cli_refuses_a_missing_corpus(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edeposit.amqp.emulator", "--corpus", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_parser_options() -> None:
    args = build_parser().parse_args(
        ["--port", "0", "--corpus", "a", "b", "--drop-rate", "0.5", "--licence-limit", "3"]
    )
    assert args.corpus == [Path("a"), Path("b")]
    assert args.drop_rate == 0.5
    assert args.licence_limit == 3
