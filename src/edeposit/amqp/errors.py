"""The project's exception tree.

::

    EdepositAMQPError
    ├── ConfigError (also ValueError)   settings that cannot be used (edeposit.amqp.config)
    ├── MessageError (also ValueError)  a body or value that is not a valid message
    │   └── RequestTooLargeError         a request body over the configured size limit
    ├── AlephException                   the catalogue refused, failed or was unreachable
    │   ├── InvalidAlephBaseException    unknown logical base
    │   ├── InvalidAlephFieldException   unknown index code (CCL field)
    │   ├── LibraryNotFoundException     unknown physical library
    │   ├── DocumentNotFoundException    no such document, or it was deleted
    │   └── AlephTransportError          network failure, timeout or non-XML reply after retries
    │       └── AlephReplyError          a reply that is XML but not what the protocol says
    ├── PoisonMessageError               a request that ended every daemon handling it
    └── ExportException                  a publication could not be exported
        ├── InvalidISBNException         its ISBN is missing or invalid
        └── ExportRejectedException      the catalogue's form rejected it

The class names of :class:`AlephException` and :class:`ExportException` and their
subclasses travel in the ``exception_name`` header of error replies; clients act on
them, so they are part of the wire contract and never renamed.
"""

from __future__ import annotations

__all__ = [
    "AlephException",
    "AlephReplyError",
    "AlephTransportError",
    "DocumentNotFoundException",
    "EdepositAMQPError",
    "ExportException",
    "ExportRejectedException",
    "InvalidAlephBaseException",
    "InvalidAlephFieldException",
    "InvalidISBNException",
    "LibraryNotFoundException",
    "MessageError",
    "PoisonMessageError",
    "RequestTooLargeError",
]


class EdepositAMQPError(Exception):
    """Root of every error this project raises on purpose."""


class MessageError(EdepositAMQPError, ValueError):
    """A message body or value is not valid; the text names the class, field or position."""


class RequestTooLargeError(MessageError):
    """A request body is larger than the daemon accepts; it was not decoded."""


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


class AlephTransportError(AlephException):
    """The catalogue could not be reached or answered something that is not X-Services XML."""


class AlephReplyError(AlephTransportError):
    """The reply is XML but not of the expected shape (wrong root, missing element)."""


class PoisonMessageError(EdepositAMQPError):
    """A request was delivered as often as the queue allows and never answered: each
    attempt ended the daemon handling it. It was dead-lettered and is answered with this."""


class ExportException(EdepositAMQPError):
    """A publication could not be exported; the text says why."""


class InvalidISBNException(ExportException):
    """The publication's ISBN is missing or not a valid ISBN-10/ISBN-13."""


class ExportRejectedException(ExportException):
    """The catalogue's e-deposit form refused the publication."""
