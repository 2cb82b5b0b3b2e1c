"""The Aleph catalogue client: X-Services over HTTP, export, and answering a request.

Everything here talks to the catalogue (rate-limited, retried, size-bounded HTTP) or
turns its replies into the message model; :class:`~.service.AlephService` is what the
daemon calls for each request.
"""
