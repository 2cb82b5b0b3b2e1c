"""The emulator's sample corpus mapped by the rules of DESIGN §3.3, record by record.

The corpus is the project's own (src/edeposit/amqp/emulator/corpus/); each value below
is read off its record, the field and rule beside it. All records carry the ``998``
permalink; none has NKP's workflow fields. Two are continuing resources (``FMT SE``),
with their 2016 ``EPeriodical`` in :data:`PERIODICALS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edeposit.amqp.aleph import (
    Author,
    EPeriodical,
    EPeriodicalSemanticInfo,
    EPublication,
    SemanticInfo,
)
from edeposit.amqp.emulator.corpus import default_corpus
from tests.wire_samples import RAYMOND, VESMIR

CORPUS = default_corpus()[0]


def _permalink(doc_number: str, base: str = "NKC01") -> list[str]:
    return [f"http://aleph.nkp.cz/F/?func=direct&doc_number={doc_number}&local_base={base}"]


#: Per file: the values that are not empty (id_number is 001, always given).
EXPECTED: dict[str, dict[str, Any]] = {
    "akademicky_slovnik_cizich_slov": {
        "ISBN": ["80-200-0524-2"],  # 020 $a "80-200-0524-2 (váz.) :"
        "vazba": "váz.",
        "cena": "Kč 590,00",  # 020 $c
        "nazev": "Akademický slovník cizích slov",  # 245 $a "… /"
        "mistoVydani": "Praha",  # 260 "Praha :" "Academia," "1995"
        "nakladatelVydavatel": "Academia",
        "datumVydani": "1995",
        "poradiVydani": "Vyd. 1.",  # 250 $a
        "zpracovatelZaznamu": "ABA001",  # 040 $a
        "format": "25 cm",  # 300 $c
        # 700 Petráčková and Kraus are edt: no authors
        "internal_urls": _permalink("000196505"),
        "id_number": "nkc19950196505",
    },
    "capek_rur_e_kniha": {
        "ISBN": ["978-80-7475-064-9"],  # 020 $a; $q "(online :" "pdf)" is no binding
        "nazev": "R.U.R.",  # 245 $a "R.U.R. :"
        # 245 $b "Rossum\N{RIGHT SINGLE QUOTATION MARK}s … aktech /": the inner " : " stays
        "podnazev": "Rossum\N{RIGHT SINGLE QUOTATION MARK}s Universal Robots : kolektivní drama"
        " o vstupní komedii a třech aktech",
        "mistoVydani": "Praha",  # RDA 264 _1
        "nakladatelVydavatel": "Městská knihovna v Praze",
        "datumVydani": "2015",
        "poradiVydani": "Vydání v elektronické podobě",  # 250 $a
        "zpracovatelZaznamu": "ABA001",
        "autori": [Author("Karel", "Čapek", "")],  # 100 "Čapek, Karel," aut
        "internal_urls": _permalink("000003112", "CZE-DEP"),
        "id_number": "nkc20150003112",
    },
    "hasek_osudy_dobreho_vojaka_svejka": {
        "nazev": "Osudy dobrého vojáka Švejka za světové války",  # no 020 at all
        "mistoVydani": "Praha",
        "nakladatelVydavatel": "Československý spisovatel",
        "datumVydani": "1982",
        "poradiVydani": "Vyd. 13.",
        "zpracovatelZaznamu": "ABA001",
        "format": "21 cm",
        "autori": [Author("Jaroslav", "Hašek", "")],  # 700 Lada is ill
        "internal_urls": _permalink("000512077"),
        "id_number": "cpk19830512077",
    },
    "hejny_kurina_dite_skola_a_matematika": {
        "ISBN": ["80-7178-581-4"],
        "vazba": "brož.",
        "cena": "Kč 249,00",
        "nazev": "Dítě, škola a matematika",
        "podnazev": "konstruktivistické přístupy k vyučování",
        "mistoVydani": "Praha",
        "nakladatelVydavatel": "Portál",
        "datumVydani": "2001",
        "poradiVydani": "Vyd. 1.",
        "zpracovatelZaznamu": "ABA001",
        "format": "23 cm",
        "autori": [Author("Milan", "Hejný", ""), Author("František", "Kuřina", "")],
        "internal_urls": _permalink("001003847"),
        "id_number": "nkc20011003847",
    },
    "herout_ucebnice_jazyka_c": {
        "ISBN": ["80-7232-220-6", "80-7232-221-4"],  # two 020, one a volume
        "vazba": "brož.",  # "(1. díl : brož.) :": the last part
        "cena": "Kč 260,00",  # the first 020 $c
        "nazev": "Učebnice jazyka C",
        "mistoVydani": "České Budějovice",
        "nakladatelVydavatel": "Kopp",
        "datumVydani": "2004",
        "poradiVydani": "4. přeprac. vyd.",
        "zpracovatelZaznamu": "BOA001",
        "format": "21 cm",
        "autori": [Author("Pavel", "Herout", "")],
        "internal_urls": _permalink("001392611"),
        "id_number": "cpk20041392611",
    },
    "hrabal_obsluhoval_jsem_anglickeho_krale": {
        "nazev": "Obsluhoval jsem anglického krále",
        "mistoVydani": "Praha",
        "nakladatelVydavatel": "Československý spisovatel",
        "datumVydani": "1989",
        "poradiVydani": "1. oficiální vyd.",
        "zpracovatelZaznamu": "ABA001",
        "format": "21 cm",
        "autori": [Author("Bohumil", "Hrabal", "")],
        "internal_urls": _permalink("000241855"),
        "id_number": "cpk19890241855",
    },
    "kernighan_ritchie_programovaci_jazyk_c": {
        "ISBN": ["80-251-0897-X"],  # check digit X
        "vazba": "brož.",
        "cena": "Kč 499,00",
        "nazev": "Programovací jazyk C",
        "mistoVydani": "Brno",
        "nakladatelVydavatel": "Computer Press",
        "datumVydani": "2006",
        "poradiVydani": "Vyd. 1.",
        "zpracovatelZaznamu": "BOA001",
        "format": "23 cm",
        "autori": [Author("Brian W.", "Kernighan", ""), Author("Dennis M.", "Ritchie", "")],
        "originaly": ["C programming language"],  # 765 $t
        "internal_urls": _permalink("001633108"),
        "id_number": "nkc20061633108",
    },
    "raymond_umeni_programovani_v_unixu": {
        name: value
        for name, value in RAYMOND._asdict().items()
        if value not in ("", []) and name not in ("url", "internal_url")
    }
    | {"internal_urls": RAYMOND.internal_urls},  # DESIGN §3.3's reference
    "satrapa_ipv6": {
        "ISBN": ["978-80-904248-4-5"],  # "978-80-904248-4-5 (brož.)", no price
        "vazba": "brož.",
        "nazev": "IPv6",
        "podnazev": "internetový protokol verze 6",
        "mistoVydani": "Praha",
        "nakladatelVydavatel": "CZ.NIC",
        "datumVydani": "2011",
        "poradiVydani": "3., aktualiz. a rozš. vyd.",
        "zpracovatelZaznamu": "ABA001",
        "format": "21 cm",
        "autori": [Author("Pavel", "Satrapa", "")],
        "internal_urls": _permalink("002189457"),
        "id_number": "nkc20112189457",
    },
    "tolkien_pan_prstenu": {
        "ISBN": ["80-204-0105-9", "80-204-0193-8", "80-204-0194-6"],
        "vazba": "váz.",  # "(1. díl : váz.) :"
        "cena": "Kčs 48,00",
        "nazev": "Pán prstenů",
        "mistoVydani": "Praha",
        "nakladatelVydavatel": "Mladá fronta",
        "datumVydani": "1990-1992",
        "poradiVydani": "Vyd. 1.",
        "zpracovatelZaznamu": "ABA001",
        "format": "21 cm",
        # 100 $a "Tolkien, J. R. R." ($q, the fuller form, is no title); 700 trl
        "autori": [Author("J. R. R.", "Tolkien", "")],
        "originaly": ["Lord of the rings."],  # no 765: 240 $a
        "internal_urls": _permalink("000021873"),
        "id_number": "cpk19920021873",
    },
    "vesmir_casopis": {
        "nazev": "Vesmír",  # a serial: no ISBN
        "podnazev": "přírodovědecký časopis Akademie věd České republiky",
        "mistoVydani": "Praha",
        "nakladatelVydavatel": "Vesmír",
        "datumVydani": "1871-",  # still published
        "zpracovatelZaznamu": "ABA001",
        "format": "29 cm",
        "urls": ["https://vesmir.cz/"],  # 856 42 $u
        "internal_urls": _permalink("000156783", "NKC"),
        "id_number": "cps19940156783",
    },
    "ikaros_elektronicky_casopis": {
        "nazev": "Ikaros",  # an e-journal: no ISBN
        "podnazev": "elektronický časopis o informační společnosti",
        "mistoVydani": "Praha",  # RDA 264 _1 "Praha :" "Ikaros," "1997-"
        "nakladatelVydavatel": "Ikaros",
        "datumVydani": "1997-",
        "zpracovatelZaznamu": "ABA001",
        # 856 40 $u (the journal itself), then the 998 permalink
        "internal_urls": ["http://ikaros.cz/", *_permalink("000462337", "NKC")],
        "id_number": "cps19990462337",
    },
}

#: The continuing resources' periodicals, as 2016's clients read them (DESIGN §3.3).
PERIODICALS = {
    "vesmir_casopis": VESMIR,  # ISSN 0042-4544, its ISSN-L the same (022 $l)
    "ikaros_elektronicky_casopis": EPeriodical.empty(
        ISSN=["1212-5075"],  # 022 $a
        nazev="Ikaros",
        podnazev="elektronický časopis o informační společnosti",
        id_number="cps19990462337",
        mistoVydani="Praha",
        datumVydani="1997-",
        internal_url=["http://ikaros.cz/", *_permalink("000462337", "NKC")],
        nakladatelVydavatel="Ikaros",
        ISSNSouboruPublikaci=["1212-5075"],  # 022 $l
    ),
}


def test_every_sample_record_is_expected() -> None:
    assert sorted(path.stem for path in CORPUS.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_record(name: str) -> None:
    data = (Path(CORPUS) / f"{name}.xml").read_bytes()
    assert EPublication.from_xml(data) == EPublication.empty(**EXPECTED[name])
    serial = name in PERIODICALS  # FMT SE
    expected = SemanticInfo(isSummaryRecord=serial, contentOfFMT="SE" if serial else "BK")
    assert SemanticInfo.from_xml(data) == expected
    if serial:
        assert EPeriodical.from_xml(data) == PERIODICALS[name]
        assert EPeriodicalSemanticInfo.from_xml(data) == EPeriodicalSemanticInfo(
            isSummaryRecord=True, contentOfFMT="SE"
        )
