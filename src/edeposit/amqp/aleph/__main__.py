"""``python -m edeposit.amqp.aleph``: the ``aleph`` command, by the name users type.

The command lives in :mod:`edeposit.amqp.cli`; this entry point is never imported by
the model it sits beside.
"""

from __future__ import annotations

import sys

from edeposit.amqp.cli import main

if __name__ == "__main__":
    sys.exit(main())
