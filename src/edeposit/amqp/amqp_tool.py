"""``amqp_tool`` (docs/messages.md, On the broker): topology, debug put/get, broker list, and the
message contract as an AsyncAPI document.

Implemented in :mod:`edeposit.amqp.tool`; this module is its public face.
"""

import sys

from edeposit.amqp.tool.commands import (
    asyncapi,
    build_parser,
    create,
    get,
    list_hosts,
    main,
    put,
)

__all__ = ["asyncapi", "build_parser", "create", "get", "list_hosts", "main", "put"]

if __name__ == "__main__":
    sys.exit(main())
