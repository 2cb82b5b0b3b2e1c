"""The Aleph daemon of the contract: ``AlephDaemon``, ``getConnectionParameters()``, ``main()``.

``alephdaemon start|stop|restart|status [-f]``; the daemon itself lives in
:mod:`edeposit.amqp.daemon`, this module is its public face.
"""

import sys

from edeposit.amqp.daemon.cli import main
from edeposit.amqp.daemon.service import AlephDaemon, getConnectionParameters

__all__ = ["AlephDaemon", "getConnectionParameters", "main"]

if __name__ == "__main__":
    sys.exit(main())
