"""The Aleph daemon: consume requests, answer them from the catalogue, publish the answers.

Built from :mod:`edeposit.amqp.runtime` (consumer service, daemon runner) and
:mod:`edeposit.amqp.catalogue` (the service that answers a request); the contract's
:mod:`edeposit.amqp.alephdaemon` is its public face.
"""
