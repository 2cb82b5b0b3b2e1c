"""Golden 2016 values of every continuing resource (``FMT`` ``SE``) among the real records.

Each value was read off the record field by field; the comment beside it names the
field and the rule of DESIGN §3.3 that gives it (``clean``: the characters
``/:;,- []<>()`` taken off both ends). Fields not given are empty. ``GOLDEN_PERIODICALS``
maps a part of the fixture's file name (in ``fixtures/aleph`` or
``fixtures/production_tests``) to its ``EPeriodical`` and ``EPeriodicalSemanticInfo``.
The production system's own tests fix some of them (edeposit.amqp.aleph
``tests/unit/test_eperiodical*.py`` on cps20150003391, marcxml_parser
``tests/test_query.py`` on cps20021122037): the values here agree.
"""

from __future__ import annotations

from edeposit.amqp.aleph import EPeriodical, EPeriodicalSemanticInfo
from tests.aleph.golden_records import GOLDEN, aleph_link

#: ``FMT SE`` without NKP's acquisition fields (no ``HLD``, no ``IST sk…``), not closed.
SERIAL = EPeriodicalSemanticInfo(isSummaryRecord=True, contentOfFMT="SE")


def _edeposit_uuid(uuid: str) -> str:
    return f"http://edeposit-test.nkp.cz/@@redirect-to-uuid/{uuid}"


#: The e-serial Echa: the same record in both files (find_doc reply, re-serialized).
_ECHA_PERIODICAL = EPeriodical.empty(
    # no 022: no ISSN of any kind; no 856 4 2: no producer's URL
    nazev="Echa ...",  # 245 $a "Echa ... :", clean ("." is not in the set)
    podnazev="fórum pro literární vědu",  # 245 $b "[fórum pro literární vědu] /", clean
    id_number="nkc20150003059",  # 001
    # the one 260 (indicators blank): "Praha :" "Institut pro studium literatury,"
    # "[2014?]-"; no 264
    mistoVydani="Praha",
    nakladatelVydavatel="Institut pro studium literatury",
    datumVydani="2014",  # "[2014?]-": the "-" follows "]", not a digit
    # five 856 4 0 $u in record order, then 998 $a: the publication's rule
    internal_url=GOLDEN["echa_eserial"][0].internal_urls,
)

GOLDEN_PERIODICALS: dict[str, tuple[EPeriodical, EPeriodicalSemanticInfo]] = {
    # records/oai_marc: DESIGN §3.3's reference, the e-periodical "Cestou necestou"
    "periodical_cps20150003391": (
        EPeriodical.empty(
            # no 022: ISSN, invalid_ISSNs, ISSNSouboruPublikaci empty
            nazev="Cestou necestou",  # 245 $a "Cestou necestou :", clean
            podnazev="zážitky z cest",  # 245 $b
            id_number="cps20150003391",  # 001
            # no 260; the one 264 _1: "Zámecká Lhota :" "Vydavatelství Stáza," "2015-"
            mistoVydani="Zámecká Lhota",
            nakladatelVydavatel="Vydavatelství Stáza",  # the comma goes
            datumVydani="2015-",  # "-" after a digit stays: still published
            # 856 4_ (second indicator blank) is neither url nor internal_url;
            # 998 $a, then NKP's URL $u
            internal_url=[
                aleph_link("000003391", "CZE-DEP"),
                _edeposit_uuid("e514091c38cf493d8308611d401407f5"),
            ],
        ),
        EPeriodicalSemanticInfo(
            hasAcquisitionFields=True,  # IST $a "sk20151111" (no HLD)
            acquisitionFields=["sk20151111", "pepe"],  # the sign, its field's $b
            isSummaryRecord=True,  # FMT SE
            contentOfFMT="SE",  # BAS 01: open; no PJM
        ),
    ),
    # records/oai_marc: the printed monthly "Pevnost"
    "periodical_issn": (
        EPeriodical.empty(
            url=["http://www.pevnost.cz"],  # 856 4 2 $u
            ISSN=["1213-8215"],  # 022 $a, check digit valid
            nazev="Pevnost",  # 245 $a "Pevnost :"
            # 245 $b: the " : " and " - " inside stay, only the ends are cleaned
            podnazev="měsíčník o fantasy, mystice a historii : film - seriál - hudba -"
            " literatura - comics - internet - hry",
            id_number="cps20021122037",  # 001
            # five 260; only the first has both indicators blank ("Praha :" "JASTOG.CZ,"
            # "2002-"); the later publishers (260 2_, 260 3_ with $3 ranges) are left out
            mistoVydani="Praha",
            nakladatelVydavatel="JASTOG.CZ",
            datumVydani="2002-",
            internal_url=[aleph_link("001122037", "NKC")],  # 998 $a
            # 780 $x 1211-2771 is the preceding title's ISSN: no field of this record's
        ),
        SERIAL,  # FMT SE; no BAS, IST, HLD
    ),
    # responses: the e-serial "Echa" as NKP's find_doc sent it
    "echa_eserial": (
        _ECHA_PERIODICAL,
        SERIAL,  # IST "jp20150312" is a cataloguer's sign, not acquisition's sk…; BAS 01
    ),
    # responses: "Rozpravy Československé akademie věd", printed, ceased
    "periodical_with_no_entry": (
        EPeriodical.empty(
            ISSN=["0069-228X"],  # 022 $a, check digit X
            nazev="Rozpravy Československé akademie věd.",  # 245 $a ("." stays)
            # 245 $p "Matematické a přírodní vědy" has no EPeriodical field
            id_number="cps19950356514",  # 001
            # 260 $a "Praha (112 29 Praha 1, Vodičkova 40) :": the ")" closes a bracket
            # opened inside the value, so only " :" goes
            mistoVydani="Praha (112 29 Praha 1, Vodičkova 40)",
            nakladatelVydavatel="Academia",  # 260 $b "Academia,"
            datumVydani="1953-1992",  # 260 $c
            # no 856, 998 or URL: no URLs; 780 $x 1210-9061 is the preceding title's
        ),
        SERIAL,
    ),
    # production_tests: Echa as the production parser re-serialized it (same values)
    "aleph_epub": (_ECHA_PERIODICAL, SERIAL),
    # production_tests: "Bulletin na zkoušku", its Czech letters literal \uXXXX text
    "aleph_buletin": (
        EPeriodical.empty(
            # no 022: the e-periodical without an ISSN
            nazev="Bulletin na zkou\\u0161ku",  # 245 $a "… :", clean
            podnazev="pokusn\\u00fd \\u010dasopis pro v\\u0161emo\\u017en\\u00e9"
            " \\u00fa\\u010dely",  # 245 $b
            id_number="cps20150003483",  # 001
            # the one 264 _1: "Z\u00e1meck\u00e1 Lhota :" "Anast\u00e1zie …,," "2015-"
            mistoVydani="Z\\u00e1meck\\u00e1 Lhota",
            # both commas go; the backslashes inside stay
            nakladatelVydavatel="Anast\\u00e1zie \\u010cumpel\\u00edkov\\u00e1",
            datumVydani="2015-",
            # 856 4_ is neither; 998 $a, then URL $u
            internal_url=[
                aleph_link("000003483", "CZE-DEP"),
                _edeposit_uuid("87ec0b87da144c1aa5eaa9f143b2add1"),
            ],
        ),
        EPeriodicalSemanticInfo(
            hasAcquisitionFields=True,  # IST $a "sk20151215"
            acquisitionFields=["sk20151215", "pepe"],  # the sign, its $b
            isSummaryRecord=True,
            contentOfFMT="SE",  # BAS 01
        ),
    ),
}
