"""Test helpers: a small X-Services client over real sockets, a hardened XML parser, a
generated corpus of any size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pymarc
from lxml import etree

from edeposit.amqp.emulator import AlephEmulator

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse(body: bytes) -> etree._Element:
    """The root of an X reply (hardened parser)."""
    return etree.fromstring(body, _PARSER)


class X:
    """A small X-Services client over a real connection to one emulator."""

    def __init__(self, emulator: AlephEmulator, client: httpx.Client) -> None:
        self.emulator = emulator
        self.client = client

    def get(self, **params: str) -> httpx.Response:
        return self.client.get(self.emulator.url + "/X", params=params)

    def root(self, **params: str) -> etree._Element:
        response = self.get(**params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/xml"
        return parse(response.content)

    def find(self, request: str, **params: str) -> etree._Element:
        return self.root(op="find", base="nkc", request=request, **params)

    def hits(self, request: str, **params: str) -> int:
        root = self.find(request, **params)
        error = root.findtext("error")
        if error == "empty set":
            return 0
        assert error is None, error
        return int(root.findtext("no_records"))

    def doc_numbers(self, request: str, **params: str) -> list[str]:
        """System numbers of every stored entry of a find, in set order."""
        root = self.find(request, **params)
        if root.findtext("error") == "empty set":
            return []
        entries = int(root.findtext("no_entries"))
        page = self.root(
            op="ill_get_set", set_number=root.findtext("set_number"), no_docs=str(entries)
        )
        return [element.text for element in page.findall("doc-number")]

    def titles(self, request: str) -> list[str]:
        """``245 $a`` of every record a find presents."""
        root = self.find(request)
        if root.findtext("error") == "empty set":
            return []
        present = self.root(
            op="present",
            set_number=root.findtext("set_number"),
            set_entry=f"1-{int(root.findtext('no_entries'))}",
        )
        return present.xpath(
            "record/metadata/oai_marc/varfield[@id='245']/subfield[@label='a']/text()"
        )


_WORDS = ["kniha", "dějiny", "matematika", "programování", "zahrada", "moře", "hory", "řeka"]


def isbn10(number: int) -> str:
    """A valid ISBN-10 for ``number`` (the ISBN of generated record ``number``)."""
    body = f"80{number:07d}"
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def write_generated_corpus(
    path: Path, records: int, skip: Callable[[int], bool] = lambda _number: False
) -> Path:
    """An ISO 2709 file of ``records`` records: record ``n`` has ISBN :func:`isbn10` (n),
    the author ``Autor{n % 500}, Jan`` and a title of two of eight words (the numbers
    ``skip`` accepts are left out)."""
    with path.open("wb") as stream:
        for number in range(records):
            if skip(number):
                continue
            record = pymarc.Record(force_utf8=True)
            record.add_field(
                pymarc.Field(tag="001", data=f"gen{number:010d}"),
                pymarc.Field(
                    tag="020",
                    indicators=pymarc.Indicators(" ", " "),
                    subfields=[pymarc.Subfield("a", isbn10(number) + " (brož.)")],
                ),
                pymarc.Field(
                    tag="100",
                    indicators=pymarc.Indicators("1", " "),
                    subfields=[pymarc.Subfield("a", f"Autor{number % 500}, Jan")],
                ),
                pymarc.Field(
                    tag="245",
                    indicators=pymarc.Indicators("1", "0"),
                    subfields=[
                        pymarc.Subfield("a", f"{_WORDS[number % 8]} {_WORDS[number // 8 % 8]}")
                    ],
                ),
            )
            stream.write(record.as_marc())
    return path
