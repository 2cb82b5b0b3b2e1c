"""What every command of the project does alike at its edges.

``aleph search … | head`` closes the pipe early: that is the reader's choice, not an
error, so :func:`quiet_broken_pipe` ends the command quietly with the shell's code for
a pipe closed under it (141 = 128 + SIGPIPE) instead of a traceback or
``[Errno 32] Broken pipe``; :class:`CommandParser` lets ``--help`` meet that pipe too.
:func:`seconds` and :func:`seconds_or_zero` read the
commands' time options, refusing a negative (or endless) wait as wrong usage.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = [
    "EXIT_BROKEN_PIPE",
    "CommandParser",
    "quiet_broken_pipe",
    "seconds",
    "seconds_or_zero",
]

#: Exit code of a command whose reader closed its output (128 + SIGPIPE, as a shell says).
EXIT_BROKEN_PIPE = 141

P = ParamSpec("P")


class CommandParser(argparse.ArgumentParser):
    """The commands' parser: a closed output during ``--help`` is told, not swallowed.

    argparse ignores every ``OSError`` of its own writes; with unbuffered output
    (``PYTHONUNBUFFERED``) ``--help | head -0`` would then exit 0, not 141.
    """

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            (file or sys.stderr).write(message)


def quiet_broken_pipe(main: Callable[P, int]) -> Callable[P, int]:
    """Wrap a command's ``main``: a closed standard output ends it quietly with 141 (also
    after ``--help`` or ``--version``, which end by raising ``SystemExit``)."""

    @functools.wraps(main)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            try:
                code = main(*args, **kwargs)
            finally:
                sys.stdout.flush()  # inside: a pipe closed at the very end is caught too
        except BrokenPipeError:
            # Python would flush stdout again at exit and complain; point it at nothing.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return EXIT_BROKEN_PIPE
        return code

    return wrapper


def _number_of_seconds(text: str, *, zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value >= 0 if zero else value > 0) or value == float("inf"):  # NaN too
        wanted = "zero or more" if zero else "a positive number of"
        raise argparse.ArgumentTypeError(f"must be {wanted} seconds, not {text}")
    return value


def seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds (``--timeout 5``)."""
    return _number_of_seconds(text, zero=False)


def seconds_or_zero(text: str) -> float:
    """An argparse type: zero (do not wait) or a positive, finite number of seconds."""
    return _number_of_seconds(text, zero=True)
