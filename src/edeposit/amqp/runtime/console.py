"""What every command of the project does alike at its edges.

``aleph search … | head`` closes the pipe early: that is the reader's choice, not an
error, so :func:`quiet_broken_pipe` ends the command quietly with the shell's code for
a pipe closed under it (141 = 128 + SIGPIPE) instead of a traceback or
``[Errno 32] Broken pipe``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec

__all__ = ["EXIT_BROKEN_PIPE", "quiet_broken_pipe"]

#: Exit code of a command whose reader closed its output (128 + SIGPIPE, as a shell says).
EXIT_BROKEN_PIPE = 141

P = ParamSpec("P")


def quiet_broken_pipe(main: Callable[P, int]) -> Callable[P, int]:
    """Wrap a command's ``main``: a closed standard output ends it quietly with 141."""

    @functools.wraps(main)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            code = main(*args, **kwargs)
            sys.stdout.flush()  # inside: a pipe closed at the very end is caught too
        except BrokenPipeError:
            # Python would flush stdout again at exit and complain; point it at nothing.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return EXIT_BROKEN_PIPE
        return code

    return wrapper
