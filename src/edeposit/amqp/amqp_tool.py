"""``amqp_tool`` of the contract (DESIGN §5): topology, debug put/get, broker list.

Implemented in :mod:`edeposit.amqp.tool`; this module is its public face.
"""

import sys

from edeposit.amqp.tool.commands import build_parser, create, get, list_hosts, main, put

__all__ = ["build_parser", "create", "get", "list_hosts", "main", "put"]

if __name__ == "__main__":
    sys.exit(main())
