"""Where a record stands in NKP's work on it (docs/messages.md): ``SemanticInfo`` and
``EPeriodicalSemanticInfo``.

Written from the 2015 form of an ``AlephRecord`` on; in the 2016 form a continuing
resource carries the 7 fields of an ``EPeriodicalSemanticInfo`` instead of the 12 of a
``SemanticInfo``. The rules that read both from a record's local fields are in
:mod:`edeposit.amqp.marc.workflow`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

from edeposit.amqp.wire import kinds
from edeposit.amqp.wire.message import Message, WireField, register

if TYPE_CHECKING:
    from edeposit.amqp.marc.record import MarcRecord

__all__ = ["EPeriodicalSemanticInfo", "SemanticInfo"]

_FLAG = WireField(kinds.BOOL)
_SIGNS = WireField(kinds.STR_LIST_LENIENT)
_TEXT = WireField(kinds.STR_LENIENT)


def _workflow_record(xml: str | bytes) -> MarcRecord:
    """The fields of a record's XML that workflow values come from."""
    # Imported here: the model stays free of lxml until a record is actually read.
    from edeposit.amqp.marc.record import record_from_xml  # noqa: PLC0415
    from edeposit.amqp.marc.workflow import WORKFLOW_TAGS  # noqa: PLC0415

    return record_from_xml(xml, WORKFLOW_TAGS)


@register
@dataclasses.dataclass(frozen=True, slots=True)
class SemanticInfo(Message):
    """The state of a record in the library's workflow, from NKP's local fields.

    Attributes:
        hasAcquisitionFields: acquisition took the publication in (``HLD``).
        acquisitionFields: the acquisition status signs (``STZ $a``, then ``$b``).
        ISBNAgencyFields: the ISBN agency's sign and signer (``IST`` ``ii…``).
        descriptiveCatFields: descriptive cataloguing (``IST`` ``jp…``).
        descriptiveCatReviewFields: its review (``IST`` ``jr…``).
        subjectCatFields: subject cataloguing (``IST`` ``vp…``).
        subjectCatReviewFields: its review (``IST`` ``vr…``).
        isClosed: the record was closed (``BAS $a 90``), e.g. for a wrong ISBN.
        isSummaryRecord: the record describes a serial (``FMT`` ``SE``).
        contentOfFMT: the ``FMT`` field (``BK``, ``SE``…).
        parsedSummaryRecordSysNumber: the record number in ``summaryRecordSysNumber``.
        summaryRecordSysNumber: ``PJM``'s note naming the record that replaces this one.
    """

    hasAcquisitionFields: bool = False
    acquisitionFields: list[str] = dataclasses.field(default_factory=list)
    ISBNAgencyFields: list[str] = dataclasses.field(default_factory=list)
    descriptiveCatFields: list[str] = dataclasses.field(default_factory=list)
    descriptiveCatReviewFields: list[str] = dataclasses.field(default_factory=list)
    subjectCatFields: list[str] = dataclasses.field(default_factory=list)
    subjectCatReviewFields: list[str] = dataclasses.field(default_factory=list)
    isClosed: bool = False
    isSummaryRecord: bool = False
    contentOfFMT: str = ""
    parsedSummaryRecordSysNumber: str = ""
    summaryRecordSysNumber: str = ""

    __wire__: ClassVar = {
        "hasAcquisitionFields": _FLAG,
        "acquisitionFields": _SIGNS,
        "ISBNAgencyFields": _SIGNS,
        "descriptiveCatFields": _SIGNS,
        "descriptiveCatReviewFields": _SIGNS,
        "subjectCatFields": _SIGNS,
        "subjectCatReviewFields": _SIGNS,
        "isClosed": _FLAG,
        "isSummaryRecord": _FLAG,
        "contentOfFMT": _TEXT,
        "parsedSummaryRecordSysNumber": _TEXT,
        "summaryRecordSysNumber": _TEXT,
    }

    @classmethod
    def from_marc(cls, record: MarcRecord) -> SemanticInfo:
        """The workflow state a MARC record holds (read with ``WORKFLOW_TAGS`` at least)."""
        # Imported here: the model stays free of lxml until a record is actually read.
        from edeposit.amqp.marc.workflow import workflow_values  # noqa: PLC0415

        return cls(**workflow_values(record))

    @classmethod
    def from_xml(cls, xml: str | bytes) -> SemanticInfo:
        """The workflow state of a record's XML: OAI-MARC or MARC 21 slim, or a reply holding one.

        Raises:
            XMLError: the text is not (acceptable) XML.
            ValueError: it holds no MARC record.
        """
        return cls.from_marc(_workflow_record(xml))


@register
@dataclasses.dataclass(frozen=True, slots=True)
class EPeriodicalSemanticInfo(Message):
    """The workflow state of a continuing resource (``FMT`` ``SE``), as 2016's clients read it.

    Attributes:
        hasAcquisitionFields: acquisition took it in (``HLD``, or its ``IST`` ``sk…`` sign).
        acquisitionFields: ``STZ $a``, then ``$b``, then each ``IST`` ``sk…`` sign and signer.
        isClosed: the record was closed (``BAS $a 90``).
        isSummaryRecord: ``FMT`` is ``SE`` (always, for a record that carries this).
        contentOfFMT: the ``FMT`` field.
        parsedSummaryRecordSysNumber: the record number in ``summaryRecordSysNumber``.
        summaryRecordSysNumber: ``PJM``'s note naming the record that replaces this one.
    """

    hasAcquisitionFields: bool = False
    acquisitionFields: list[str] = dataclasses.field(default_factory=list)
    isClosed: bool = False
    isSummaryRecord: bool = False
    contentOfFMT: str = ""
    parsedSummaryRecordSysNumber: str = ""
    summaryRecordSysNumber: str = ""

    __wire__: ClassVar = {
        "hasAcquisitionFields": _FLAG,
        "acquisitionFields": _SIGNS,
        "isClosed": _FLAG,
        "isSummaryRecord": _FLAG,
        "contentOfFMT": _TEXT,
        "parsedSummaryRecordSysNumber": _TEXT,
        "summaryRecordSysNumber": _TEXT,
    }

    @classmethod
    def from_marc(cls, record: MarcRecord) -> EPeriodicalSemanticInfo:
        """The workflow state a MARC record holds (read with ``WORKFLOW_TAGS`` at least)."""
        from edeposit.amqp.marc.workflow import periodical_workflow_values  # noqa: PLC0415

        return cls(**periodical_workflow_values(record))

    @classmethod
    def from_xml(cls, xml: str | bytes) -> EPeriodicalSemanticInfo:
        """The workflow state of a record's XML, read as a continuing resource's.

        Raises:
            XMLError: the text is not (acceptable) XML.
            ValueError: it holds no MARC record.
        """
        return cls.from_marc(_workflow_record(xml))
