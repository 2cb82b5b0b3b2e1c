"""The JSON wire format: the message base class, field kinds, the class registry, the codec.

Nothing here knows about Aleph, RabbitMQ or settings: :mod:`edeposit.amqp.aleph`
declares its message classes on top of it, and whoever owns settings passes the
values the codec needs.
"""
