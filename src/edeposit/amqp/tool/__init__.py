"""``amqp_tool``: build the broker topology and put/get debug messages.

The contract's :mod:`edeposit.amqp.amqp_tool` is its public face.
"""
