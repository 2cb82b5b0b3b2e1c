"""The project's exception tree: every error it raises on purpose, under one root.

::

    EdepositAMQPError
    ├── ConfigError (also ValueError)       settings that cannot be used
    ├── MessageError (also ValueError)      a body or value that is not a valid message
    │   ├── DeserializationError            a body that does not decode (what and where)
    │   ├── SerializationError (TypeError)  a value without a wire form
    │   ├── RequestTooLargeError            a request body over the configured size limit
    │   ├── InvalidISSNError                a query's ISSN that is no ISSN (before Aleph)
    │   └── ReplyToError                    no ``reply_to`` to answer, or one the service refuses
    ├── XMLError (also ValueError)          bytes refused by the safe XML parser
    │   ├── MalformedXMLError               not well-formed (an HTML page, a cut reply…)
    │   └── RefusedXMLError                 a DOCTYPE or entity declaration, or too large
    ├── AlephException                      the catalogue refused, failed or was unreachable
    │   ├── InvalidAlephBaseException       unknown logical base
    │   ├── InvalidAlephFieldException      unknown index code (CCL field)
    │   ├── LibraryNotFoundException        unknown physical library
    │   ├── DocumentNotFoundException       no such document, or it was deleted
    │   ├── AlephOverloadedError            not asked: the catalogue's budget (rate limit)
    │   │                                   could not serve it within its deadline
    │   └── AlephTransportError             the catalogue could not be asked (after retries)
    │       ├── AlephConnectError           no connection: refused, unresolvable, TLS
    │       ├── AlephTimeoutError           connecting or reading timed out
    │       ├── AlephProtocolError          a broken exchange, an HTTP error, not XML
    │       ├── AlephUnavailableError       not asked: it failed too often just now
    │       └── AlephReplyError             XML, but not of the protocol's shape
    │           └── OversizedReplyError     a reply larger than the configured limit
    ├── ExportException                     a publication could not be exported
    │   ├── InvalidISBNException            its ISBN is missing or invalid
    │   └── ExportRejectedException         the catalogue's form rejected it
    ├── SetAsideError                       a request given up on (dead-lettered), answered
    │   └── PoisonMessageError              … because it ended every daemon handling it
    ├── BrokerError                         the AMQP connection of a service
    │   ├── BrokerUnavailableError          down: the operation did not happen
    │   ├── PublishRejectedError            the broker refused a message (nack)
    │   └── FatalBrokerError                retrying cannot help (login, vhost, topology)
    ├── AlreadyRunningError (RuntimeError)  another process holds the daemon's pidfile
    ├── ToolError                           an ``amqp_tool`` failure, explained in one line
    └── ClientError                         an ``AlephClient`` call could not complete
        ├── CallTimeoutError (TimeoutError) no answer before the call's deadline
        └── RemoteError                     the daemon answered with an error

The class names of :class:`AlephException` and :class:`ExportException` and their
subclasses travel in the ``exception_name`` header of error answers; clients act on
them, so they are part of the wire contract and never renamed. Library errors (pika,
urllib3, lxml) are mapped to the most specific class where they are caught, with
``raise … from`` keeping the original.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AlephConnectError",
    "AlephException",
    "AlephOverloadedError",
    "AlephProtocolError",
    "AlephReplyError",
    "AlephTimeoutError",
    "AlephTransportError",
    "AlephUnavailableError",
    "AlreadyRunningError",
    "BrokerError",
    "BrokerUnavailableError",
    "CallTimeoutError",
    "ClientError",
    "ConfigError",
    "DeserializationError",
    "DocumentNotFoundException",
    "EdepositAMQPError",
    "ExportException",
    "ExportRejectedException",
    "FatalBrokerError",
    "InvalidAlephBaseException",
    "InvalidAlephFieldException",
    "InvalidISBNException",
    "InvalidISSNError",
    "LibraryNotFoundException",
    "MalformedXMLError",
    "MessageError",
    "OversizedReplyError",
    "PoisonMessageError",
    "PublishRejectedError",
    "RefusedXMLError",
    "RemoteError",
    "ReplyToError",
    "RequestTooLargeError",
    "SerializationError",
    "SetAsideError",
    "ToolError",
    "XMLError",
]


class EdepositAMQPError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(EdepositAMQPError, ValueError):
    """A settings source holds something that cannot be used; the message names it."""


# --- messages -----------------------------------------------------------------------


class MessageError(EdepositAMQPError, ValueError):
    """A message body or value is not valid; the text names the class, field or position."""


class DeserializationError(MessageError):
    """A body that is not a valid message; the text says what and where."""


class SerializationError(MessageError, TypeError):
    """A value that has no wire form (not a message, list, dict or JSON scalar)."""


class RequestTooLargeError(MessageError):
    """A request body is larger than the daemon accepts; it was not decoded."""


class InvalidISSNError(MessageError):
    """A query names an ISSN that is not valid (its form or its check digit); the
    catalogue is not asked. The daemon answers it as a refused request, not as the
    catalogue's (``RemoteError.origin`` is ``daemon``)."""


class ReplyToError(MessageError):
    """A service cannot reply to the message it handles: the message names no
    ``reply_to``, or one the service's policy refuses (its own queue). Nothing was sent."""


# --- XML ----------------------------------------------------------------------------


class XMLError(EdepositAMQPError, ValueError):
    """Bytes the safe XML parser does not accept."""


class MalformedXMLError(XMLError):
    """The bytes are not well-formed XML (an HTML error page, a cut-off reply…)."""


class RefusedXMLError(XMLError):
    """Well-formed XML that is refused: a DOCTYPE or entity declaration, or too large."""


# --- the catalogue --------------------------------------------------------------------


class AlephException(EdepositAMQPError):
    """The catalogue answered with an error, or could not be asked."""


class InvalidAlephBaseException(AlephException):
    """The logical base (``nkc``…) is not known to the catalogue."""


class InvalidAlephFieldException(AlephException):
    """The index code (``wau``, ``sbn``…) is not known to the catalogue."""


class LibraryNotFoundException(AlephException):
    """The physical library (``NKC01``…) is not known to the catalogue."""


class DocumentNotFoundException(AlephException):
    """The document does not exist or was deleted."""


class AlephOverloadedError(AlephException):
    """The catalogue was not asked: its budget (``ALEPH_RATE_LIMIT``, the fleet's share)
    could not give this request a call before its deadline (``ALEPH_REQUEST_DEADLINE``).
    The daemon's own overload, not a failure of the catalogue."""


class AlephTransportError(AlephException):
    """The catalogue could not be reached or answered something that is not X-Services XML."""


class AlephConnectError(AlephTransportError):
    """No connection to the catalogue: refused, an unknown host, a failed TLS handshake."""


class AlephTimeoutError(AlephTransportError):
    """Connecting to the catalogue, or reading its reply, took longer than allowed."""


class AlephProtocolError(AlephTransportError):
    """The exchange broke (connection dropped mid-reply), or the reply is an HTTP error
    status or a page that is not XML."""


class AlephUnavailableError(AlephTransportError):
    """The catalogue was not asked: it failed too often just now (its circuit is open)."""


class AlephReplyError(AlephTransportError):
    """The reply is XML but not of the expected shape (wrong root, missing element)."""


class OversizedReplyError(AlephReplyError):
    """The reply was larger than the configured limit; it was not read to the end."""


class ExportException(EdepositAMQPError):
    """A publication could not be exported; the text says why."""


class InvalidISBNException(ExportException):
    """The publication's ISBN is missing or not a valid ISBN-10/ISBN-13."""


class ExportRejectedException(ExportException):
    """The catalogue's e-deposit form refused the publication."""


class SetAsideError(EdepositAMQPError):
    """A request was given up on: its handler failed, it was not answered in time, its
    answer could not be published, or the broker dead-lettered it. It is answered with
    this (the text says which) instead of never."""


class PoisonMessageError(SetAsideError):
    """A request was delivered as often as the queue allows and never answered: each
    attempt ended the daemon handling it. It was dead-lettered and is answered with this."""


# --- the broker and the services --------------------------------------------------


class BrokerError(EdepositAMQPError):
    """Base of the broker connection's errors."""


class BrokerUnavailableError(BrokerError):
    """The connection (or its channel) is down; the operation did not happen."""


class PublishRejectedError(BrokerError):
    """The broker refused a published message (``Basic.Nack``)."""


class FatalBrokerError(BrokerError):
    """Retrying cannot help: refused credentials, missing vhost, conflicting topology."""


class AlreadyRunningError(EdepositAMQPError, RuntimeError):
    """Another process holds the pidfile's lock."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"already running (pid {pid if pid else '?'}, pidfile {path})")
        self.path = path
        self.pid = pid


class ToolError(EdepositAMQPError):
    """A failure of ``amqp_tool``, explained in one line for the user."""


class ClientError(EdepositAMQPError):
    """The client could not complete a call (not connected, unexpected answer…)."""


class CallTimeoutError(ClientError, TimeoutError):
    """No answer arrived before the call's deadline."""


class RemoteError(ClientError):
    """The daemon answered with an error; its name, message and traceback are kept.

    :attr:`origin` says who failed: ``catalogue`` (the catalogue answered no),
    ``catalogue-unreachable`` (the daemon could not ask it) or ``daemon`` (the daemon
    refused the request or failed itself).
    """

    def __init__(
        self, exception_name: str, message: str, traceback: str = "", exception_type: str = ""
    ) -> None:
        super().__init__(f"{exception_name}: {message}")
        self.exception_name = exception_name
        self.message = message
        self.traceback = traceback
        self.exception_type = exception_type

    @property
    def origin(self) -> str:
        """``catalogue``, ``catalogue-unreachable`` or ``daemon`` (see the class)."""
        if self.exception_name in _CATALOGUE_ANSWERS:
            return "catalogue"
        if self.exception_name in _CATALOGUE_UNREACHABLE:
            return "catalogue-unreachable"
        return "daemon"


#: Errors the catalogue itself answered (its refusals), by ``exception_name``.
_CATALOGUE_ANSWERS = frozenset(
    cls.__name__
    for cls in (
        AlephException,
        InvalidAlephBaseException,
        InvalidAlephFieldException,
        LibraryNotFoundException,
        DocumentNotFoundException,
        ExportRejectedException,
    )
)
#: Errors that mean the catalogue could not be asked.
_CATALOGUE_UNREACHABLE = frozenset(
    cls.__name__
    for cls in (
        AlephTransportError,
        AlephConnectError,
        AlephTimeoutError,
        AlephProtocolError,
        AlephUnavailableError,
        AlephReplyError,
        OversizedReplyError,
    )
)
