"""RabbitMQ plumbing of the services: connection, topology, consumer service, daemon runner.

Generic machinery, no Aleph in it: a self-healing connection on its own I/O thread, the
declarations real clients expect, a bounded worker pool, and the unix daemon life cycle
around a service.
"""
