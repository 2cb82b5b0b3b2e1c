"""ISBN validation: ISBN-10 (X or x) and ISBN-13, hyphens and spaces allowed, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edeposit.amqp.marc.isbn import compact_isbn, is_valid_isbn


@pytest.mark.parametrize(
    "isbn",
    [
        "80-251-0225-4",
        "8025102254",
        "80 251 0225 4",
        " 80-251-0225-4 ",
        "978-80-251-0225-1",
        "9788025102251",
        "978 80 7367 397 0",
        "0-8044-2957-X",
        "0-8044-2957-x",
        "80-85892-15-4",
    ],
)
def test_valid(isbn: str) -> None:
    assert is_valid_isbn(isbn) is True


@pytest.mark.parametrize(
    "isbn",
    [
        "80-251-0225-5",  # wrong check digit
        "978-80-251-0225-2",
        "025102254",  # a 9-digit SBN: stdnum would pad it
        "ISBN 80-251-0225-4",
        "80\u2013251\u20130225\u20134",  # en dashes
        "80-251-0225-4 (brož.)",
        "978-80-251-0225-X",  # X is only an ISBN-10 check digit
        "X-8044-2957-0",
        "80.251.0225.4",
        "",
        "   ",
        "-",
        "123",
        "97880251022511",
    ],
)
def test_invalid(isbn: str) -> None:
    assert is_valid_isbn(isbn) is False


@pytest.mark.parametrize("value", [None, 8025102254, b"80-251-0225-4", ["80-251-0225-4"]])
def test_non_strings_are_invalid(value: object) -> None:
    assert is_valid_isbn(value) is False


def test_compact() -> None:
    assert compact_isbn("0-8044-2957-x") == "080442957X"


@given(st.text(max_size=20))
def test_never_raises_and_valid_ones_have_ten_or_thirteen_digits(text: str) -> None:
    if is_valid_isbn(text):
        assert len(compact_isbn(text.strip())) in (10, 13)
        assert set(text) <= set("0123456789Xx -")
