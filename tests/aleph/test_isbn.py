"""ISBN validation: ISBN-10 (X or x) and ISBN-13, hyphens and spaces allowed, nothing else."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import isbn as stdnum_isbn

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


@given(
    st.text(alphabet="0123456789Xx- ", min_size=9, max_size=17),
    st.sampled_from(["", "978", "979", "977"]),
)
def test_agrees_with_python_stdnum(text: str, prefix: str) -> None:
    """The check digit arithmetic is stdnum's, for anything of an ISBN's shape."""
    candidate = prefix + text
    digits = compact_isbn(candidate.strip())
    expected = (
        len(digits) in (10, 13)
        and bool(re.fullmatch(r"[0-9Xx][0-9Xx -]*", candidate.strip()))
        and stdnum_isbn.is_valid(digits)
    )
    assert is_valid_isbn(candidate) is expected


@given(
    st.one_of(
        st.text(alphabet="0123456789", min_size=9, max_size=9),
        st.builds(
            "".join,
            st.tuples(
                st.sampled_from(["978", "979"]), st.text("0123456789", min_size=9, max_size=9)
            ),
        ),
    ),
    st.sampled_from("0123456789X"),
)
def test_every_check_digit_as_stdnum_judges_it(body: str, check: str) -> None:
    assert is_valid_isbn(body + check) is bool(stdnum_isbn.is_valid(body + check))
