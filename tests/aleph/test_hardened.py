"""The hardened parser refuses DTDs and entities, bounds size, and tells non-XML apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from edeposit.amqp.marc.safe_xml import (
    MalformedXMLError,
    RefusedXMLError,
    local_name,
    parse_xml,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE find [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<find><error>&lol9;</error></find>
"""


def external_entity(target: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE find [<!ENTITY x SYSTEM "file://{target}">]>\n'
        "<find><error>&x;</error></find>"
    ).encode()


def test_real_reply_parses(raymond_oai: Path) -> None:
    root = parse_xml(raymond_oai.read_bytes())
    assert local_name(root) == "find-doc"


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(RefusedXMLError, match="DOCTYPE"):
        parse_xml(BILLION_LAUGHS)


def test_external_entity_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    with pytest.raises(RefusedXMLError, match="DOCTYPE") as caught:
        parse_xml(external_entity(secret))
    assert "TOP-SECRET" not in str(caught.value)


def test_doctype_without_entities_is_refused() -> None:
    with pytest.raises(RefusedXMLError):
        parse_xml(b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x.dtd"><html/>')


def test_size_bound() -> None:
    body = b"<find>" + b"<x>1</x>" * 100 + b"</find>"
    assert local_name(parse_xml(body, max_bytes=len(body))) == "find"
    with pytest.raises(RefusedXMLError, match="exceeds"):
        parse_xml(body, max_bytes=len(body) - 1)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><h1>Error 403 Forbidden</h1>",
        b"",
        b"Service unavailable",
        b"<find><set_number>1</set_number>",  # cut off
        b'<?xml version = "1.0" encoding = "UTF-8"?>\n<find>\xff\xfe</find>',  # bad UTF-8
    ],
)
def test_not_xml(body: bytes) -> None:
    with pytest.raises(MalformedXMLError):
        parse_xml(body)


def test_local_name_ignores_namespace() -> None:
    root = parse_xml(
        b'<record xmlns="http://www.loc.gov/MARC21/slim/"><!-- c --><leader/></record>'
    )
    assert local_name(root) == "record"
    assert [local_name(child) for child in root] == ["", "leader"]
