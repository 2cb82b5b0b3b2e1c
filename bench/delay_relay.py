"""A TCP relay that holds every byte back a set time each way: a slow network without netem.

    python bench/delay_relay.py LISTEN=TARGET ...     (e.g. 127.0.0.1:5601=10.87.0.11:5672)

It prints ``relay ready`` once it listens on every LISTEN address; each line on its
standard input sets the delay in seconds (0 at first); it ends when its input closes.
What it reads from one side is written to the other once due, in order, so the delay
adds latency without limiting throughput, as a long link does. When either side closes
or fails, both connections close. This machine's kernel has no ``netem``, hence a relay.

Run inside a host's namespace (``ip netns exec``), its connections to the targets leave
through that host's link and share its partitions. :class:`DelayRelay` starts one so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

__all__ = ["DelayRelay", "main"]

#: Bytes read at once from either side.
CHUNK = 65536


class _Delay:
    """The delay in force, in seconds (changed from the input thread through the loop)."""

    value = 0.0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: _Delay) -> None:
    """Copy ``reader`` to ``writer``, each chunk written ``delay`` seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, chunk = await queue.get()
            pause = due - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            if not chunk:
                return
            writer.write(chunk)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while chunk := await reader.read(CHUNK):
            queue.put_nowait((loop.time() + delay.value, chunk))
    except OSError:
        pass
    queue.put_nowait((loop.time() + delay.value, b""))
    with contextlib.suppress(OSError):
        await delivering


async def _relay(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    target: tuple[str, int],
    delay: _Delay,
) -> None:
    reader, writer = client
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
    except OSError:
        writer.close()
        return
    pipes = [
        asyncio.create_task(_pipe(reader, upstream_writer, delay)),
        asyncio.create_task(_pipe(upstream_reader, writer, delay)),
    ]
    await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
    for side in (writer, upstream_writer):
        side.close()
    for pipe in pipes:
        pipe.cancel()
    await asyncio.gather(*pipes, return_exceptions=True)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _serve(routes: list[tuple[tuple[str, int], tuple[str, int]]]) -> None:
    delay = _Delay()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def read_delays() -> None:  # a thread: input lines set the delay; EOF ends the relay
        for line in sys.stdin:
            with contextlib.suppress(ValueError):
                seconds = float(line)
                loop.call_soon_threadsafe(setattr, delay, "value", seconds)
        loop.call_soon_threadsafe(done.set)

    servers = []
    for listen, target in routes:

        async def accept(
            reader: asyncio.StreamReader,
            writer: asyncio.StreamWriter,
            target: tuple[str, int] = target,
        ) -> None:
            await _relay((reader, writer), target, delay)

        servers.append(await asyncio.start_server(accept, *listen))
    print("relay ready", flush=True)
    threading.Thread(target=read_delays, daemon=True).start()
    await done.wait()
    for server in servers:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("routes", nargs="+", metavar="LISTEN=TARGET", help="host:port=host:port")
    arguments = parser.parse_args(argv)
    routes = []
    for route in arguments.routes:
        listen, _, target = route.partition("=")
        routes.append((_address(listen), _address(target)))
    asyncio.run(_serve(routes))
    return 0


class DelayRelay:
    """A relay subprocess (run through ``prefix``, e.g. ``ip netns exec <host>``).

    Args:
        routes: the address to listen on for each target, ``(host, port)`` pairs.
        prefix: the command to run it through.
    """

    def __init__(
        self, routes: dict[tuple[str, int], tuple[str, int]], prefix: Sequence[str] = ()
    ) -> None:
        self.routes = dict(routes)
        self.process = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                str(Path(__file__).resolve()),
                *(f"{a}:{p}={b}:{q}" for (a, p), (b, q) in self.routes.items()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "relay ready":
            self.close()
            raise RuntimeError("the delaying relay did not start")
        self.delay = 0.0

    def set_delay(self, seconds: float) -> None:
        """Hold every byte back ``seconds`` each way from now on (0: none)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{seconds}\n")
        self.process.stdin.flush()
        self.delay = seconds

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


if __name__ == "__main__":
    sys.exit(main())
