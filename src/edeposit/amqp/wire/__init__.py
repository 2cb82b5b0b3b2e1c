"""The JSON wire format: the message base class, field kinds, the class registry, the codec.

Nothing here knows about Aleph, RabbitMQ or settings: :mod:`edeposit.amqp.aleph`
declares its message classes on top of it, and whoever owns settings passes the
values the codec needs as :class:`~edeposit.amqp.wire.options.WireOptions`.

``message`` (the base class, registry and located faults) → ``kinds`` (what each field
accepts) → ``decoding`` (the walk that builds messages) and ``encoding`` (orjson and
the diagnosis of what it cannot write) → ``codec`` (``encode`` and ``decode``).
"""
