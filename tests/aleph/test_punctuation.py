"""ISBD punctuation off the ends of values, dates, bindings and PJM's record numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edeposit.amqp.marc.mapping import binding_of
from edeposit.amqp.marc.punctuation import ISBD_PUNCTUATION, clean, clean_date
from edeposit.amqp.marc.workflow import summary_record_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Brno :", "Brno"),
        ("Computer Press,", "Computer Press"),  # DESIGN §3.3's reference
        ("Umění programování v UNIXu /", "Umění programování v UNIXu"),
        ("(brož.) :", "brož."),
        ("[Brno :", "Brno"),  # an opening bracket that closes nowhere
        ("2013]", "2013"),  # a closing one that opens nowhere
        ("[fórum pro literární vědu] /", "fórum pro literární vědu"),  # a pair around it all
        ("Praha (112 29 Praha 1, Vodičkova 40) :", "Praha (112 29 Praha 1, Vodičkova 40)"),
        ("(a) (b)", "(a) (b)"),  # two pairs: content
        ("Echa ... :", "Echa ..."),  # full stops are not ISBD punctuation to remove
        ("Svazek II.,", "Svazek II."),
        ("Kč 590,00", "Kč 590,00"),  # inside, nothing changes
        ("United Fans : Klub Julese Vernea,", "United Fans : Klub Julese Vernea"),
        # DESIGN §3.3's corrected set /:;,- []<>(): the hyphen goes (a date keeps it:
        # clean_date), braces and the backslash stay
        ("Vydavatelství Stáza,", "Vydavatelství Stáza"),  # the production tests' case
        ("Praha -", "Praha"),
        ("- hry -", "hry"),
        ("film - seriál - hudba", "film - seriál - hudba"),  # inside, nothing changes
        ("{Ročenka}", "{Ročenka}"),
        ("Ročenka {2015} :", "Ročenka {2015}"),
        ("C:\\", "C:\\"),
        ("\\Brno :", "\\Brno"),
        ("<Praha> :", "Praha"),
        (" ; / : - ", ""),
        ("", ""),
    ],
)
def test_clean(value: str, expected: str) -> None:
    assert clean(value) == expected


@given(st.text(alphabet=st.sampled_from([*ISBD_PUNCTUATION, "a", "-", ".", "ř"]), max_size=12))
def test_clean_is_stable_and_takes_only_from_the_ends(value: str) -> None:
    cleaned = clean(value)
    assert clean(cleaned) == cleaned
    assert cleaned in value
    if cleaned:
        assert cleaned[0] not in "/:;,- " and cleaned[-1] not in "/:;,- "


@given(st.text(alphabet=st.sampled_from([*ISBD_PUNCTUATION, "a", "{", "}", "\\"]), max_size=12))
def test_braces_and_backslash_stay(value: str) -> None:
    cleaned = clean(value)
    assert value.count("{") == cleaned.count("{")
    assert value.count("}") == cleaned.count("}")
    assert value.count("\\") == cleaned.count("\\")


def test_the_set_is_the_effective_production_set() -> None:
    """``remove_hairs``'s default, which the production cleaning applied (DESIGN §3.3)."""
    assert set(ISBD_PUNCTUATION) == set("/:;,- []<>()")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2004", "2004"),
        ("[2014?]-", "2014"),  # DESIGN §3.3: the hyphen follows a bracket
        ("2002-", "2002-"),  # DESIGN §3.3: still published
        ("2015-", "2015-"),
        ("1953-1992", "1953-1992"),
        ("c2015", "2015"),
        ("2013]", "2013"),
        ("[199-?]", "199-"),
        ("březen 2015", "2015"),
        ("", ""),
    ],
)
def test_clean_date(value: str, expected: str) -> None:
    assert clean_date(value) == expected


@pytest.mark.parametrize(
    ("qualifier", "binding"),
    [
        ("(brož.) :", "brož."),  # DESIGN §3.3
        ("(Klub Julese Vernea : brož.) :", "brož."),  # DESIGN §3.3
        ("(v knize neuvedeno : brož.)", "brož."),
        ("(sv. 1 : váz.) :", "váz."),
        ("(váz.)", "váz."),
        (":", ""),
    ],
)
def test_binding_is_the_last_part_of_the_qualifier(qualifier: str, binding: str) -> None:
    assert binding_of(qualifier) == binding


@pytest.mark.parametrize(
    ("text", "number"),
    [
        # The original's own cases (edeposit.amqp.aleph tests/unit/test_semanticinfo.py).
        ("Souborný záznam viz nkc20150003029.", "nkc20150003029"),
        ("Souborný záznam viz 978-80-87899-15-1.", "978-80-87899-15-1"),
        (
            "V zamčených záznamech při opravě pole 260 na 264 jsou následně vyžadována pole"
            " 336, 337, 338\nSouborný záznam viz nkc20150003133",
            "nkc20150003133",
        ),
        ("Seriálový záznam viz nkc20150003043", "nkc20150003043"),
        ("bez čísla", ""),
        ("", ""),
    ],
)
def test_summary_record_number(text: str, number: str) -> None:
    assert summary_record_number(text) == number
