"""What fits one AMQP frame: text cut to a size, and the size of a message's properties.

A message's properties (its header table included) travel in one content-header frame,
which AMQP cannot split. A frame over the connection's negotiated ``frame_max`` is a
protocol error: the broker closes the whole connection (``501 FRAME_ERROR``), and
whatever the channel was doing is lost with it. So a service never writes a property
it has not measured: :func:`properties_size` says what a header frame will weigh, and
:func:`cut_text` bounds the texts a service writes on someone else's behalf (error
messages that quote a request, tracebacks).
"""

from __future__ import annotations

import re

from pika.spec import BasicProperties

from edeposit.amqp.runtime.envelopes import Outgoing

__all__ = [
    "DEFAULT_FRAME_MAX",
    "HEADER_FRAME_OVERHEAD",
    "cut_text",
    "header_room",
    "properties_size",
    "unsendable",
]

#: RabbitMQ's default ``frame_max`` (and pika's), bytes.
DEFAULT_FRAME_MAX = 131_072
#: Bytes of a content-header frame besides the properties: the frame's type, channel and
#: size (7) and its end octet (1), the class id and weight (4) and the body size (8).
HEADER_FRAME_OVERHEAD = 20
#: Room kept free below ``frame_max`` for what is added after measuring (``app_id``,
#: ``correlation_id`` of a copy), bytes.
MARGIN = 1024
#: The marker :func:`cut_text` leaves at the end of a text it cut.
_EARLIER_CUT = re.compile(r" … \[cut: (\d+) bytes\]$")


def header_room(frame_max: int) -> int:
    """The most bytes a message's encoded properties may take on a connection whose
    negotiated frame size is ``frame_max`` (with :data:`MARGIN` kept free)."""
    return frame_max - HEADER_FRAME_OVERHEAD - min(MARGIN, frame_max // 8)


def properties_size(properties: BasicProperties) -> int:
    """Bytes of ``properties`` as encoded in a content-header frame.

    Raises:
        Exception: whatever pika raises for a property it cannot encode.
    """
    return sum(len(piece) for piece in properties.encode())


def cut_text(text: str, limit: int, *, keep_end: bool = False) -> str:
    """``text`` in at most ``limit`` UTF-8 bytes. A cut one carries a marker saying how
    long it was, so a reader knows it is not whole: at the end, or (``keep_end``, for a
    traceback, whose last lines matter most) at the start."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= limit:
        return text
    whole = len(encoded)
    earlier = _EARLIER_CUT.search(text)  # cut again: the length of the original holds
    if earlier is not None:
        whole = int(earlier.group(1))
        encoded = text[: earlier.start()].encode("utf-8", "replace")
    marker = f"[cut: {whole} bytes] … " if keep_end else f" … [cut: {whole} bytes]"
    keep = max(0, limit - len(marker.encode("utf-8")))
    if keep_end:
        return marker + encoded[len(encoded) - keep :].decode("utf-8", "ignore")
    return encoded[:keep].decode("utf-8", "ignore") + marker


def unsendable(message: Outgoing, frame_max: int = DEFAULT_FRAME_MAX) -> str | None:
    """Why ``message`` cannot be published (a name or property too long, a header of no
    AMQP type, properties over the frame size, which would close the whole connection),
    or None."""
    for name in ("exchange", "routing_key"):
        if len(getattr(message, name).encode("utf-8")) > 255:
            return f"{name} longer than 255 bytes"
    try:
        size = properties_size(message.properties)
    except Exception as error:  # noqa: BLE001 - whatever pika refuses
        return f"{type(error).__name__}: {error}"
    if size > header_room(frame_max):
        return f"properties of {size} bytes do not fit a frame of {frame_max} bytes"
    return None
