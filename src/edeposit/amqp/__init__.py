"""edeposit-amqp: RabbitMQ services between an e-deposit front-end and an Aleph catalogue.

Public modules: :mod:`.settings`, :mod:`.serializers`, :mod:`.aleph`,
:mod:`.alephdaemon`, :mod:`.pikadaemon`, :mod:`.daemonwrapper`, :mod:`.amqp_tool`
and :mod:`.client`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edeposit-amqp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
