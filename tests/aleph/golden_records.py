"""Golden values of every real record in ``fixtures/aleph``, derived from the records.

Each value was read off the record field by field; the comment beside it names the
field and the rule of DESIGN §3.3 that gives it (``clean``: the ISBD punctuation taken
off both ends). Fields not given are empty. ``GOLDEN`` maps a part of the fixture's
file name to its ``EPublication`` (the full model: URL lists, the 2015 fields) and its
``SemanticInfo``.
"""

from __future__ import annotations

from edeposit.amqp.aleph import Author, EPublication, SemanticInfo
from tests.wire_samples import RAYMOND, RAYMOND_MARCXML

#: A record without NKP's workflow fields but ``FMT BK`` (a book).
BOOK = SemanticInfo(contentOfFMT="BK")
#: ``FMT SE``: a serial, which NKP calls a summary record.
SERIAL = SemanticInfo(isSummaryRecord=True, contentOfFMT="SE")


def aleph_link(doc_number: str, base: str) -> str:
    """NKP's ``998 $a`` permalink (an internal URL, after any ``856 4 0``)."""
    return f"http://aleph.nkp.cz/F/?func=direct&doc_number={doc_number}&local_base={base}"


_EDEPOSIT = "http://edeposit-test.nkp.cz/producents/"
_ECHA = _EDEPOSIT + "nakladatelstvi-delta/epublications/"

GOLDEN: dict[str, tuple[EPublication, SemanticInfo]] = {
    # records/marcxml: MARC 21 slim (ill_get_doc); no FMT, no workflow fields.
    "deti_otroku_020z": (
        EPublication.empty(
            ISBN=["978-80-260-0791-3"],  # 020 $a, check digit valid, the ISBN only
            # 020 $z "978-80-85892-15-4" and "80-85892-15-4 :": cancelled, the ISBN only
            invalid_ISBN=["978-80-85892-15-4", "80-85892-15-4"],
            vazba="brož.",  # "(v knize neuvedeno : brož.)": the part after the last ":"
            cena="Kč 99,00",  # 020 $c
            nazev="Děti otroků",  # 245 $a "Děti otroků /", clean
            mistoVydani="Praha",  # 260 $a "Praha :"
            nakladatelVydavatel="Golem",  # 260 $b "Golem,"
            datumVydani="2008",  # 260 $c
            poradiVydani="1. vyd.",  # 901 $f wins over 250 $a "Vyd. 1."
            zpracovatelZaznamu="KMG001",  # 040 $a
            format="19 cm",  # 300 $c
            autori=[Author("Jaroslav", "Mostecký", "")],  # 100 1_ "Mostecký, Jaroslav," aut
            id_number="nkc20081807432",  # 001
        ),
        SemanticInfo(),
    ),
    "drupal_translation_no100": (
        EPublication.empty(
            ISBN=["978-80-251-3440-5"],  # 020 $a "978-80-251-3440-5 (brož.)"
            vazba="brož.",  # its qualifier "(brož.)", clean
            nazev="Drupal",  # 245 $a "Drupal :"
            podnazev="programování modulů",  # 245 $b "programování modulů /"
            mistoVydani="Brno",  # 260 $a "Brno :"
            nakladatelVydavatel="Computer Press",  # 260 $b "Computer Press,"
            datumVydani="2011",  # 260 $c
            poradiVydani="1. vyd.",  # 901 $f (250 $a says "Vyd. 1.")
            zpracovatelZaznamu="OSA001",  # 040 $a
            format="23 cm",  # 300 $c
            autori=[Author("Matt", "Butcher", "")],  # no 100; 700 1_ "Butcher, Matt" aut
            originaly=["Drupal 7 module development"],  # 765 $t
            id_number="nkc20112251644",  # 001
        ),
        SemanticInfo(),
    ),
    "hejny_kurina": (
        EPublication.empty(
            ISBN=["978-80-7367-397-0"],  # 020 $a "978-80-7367-397-0 (brož.)"
            vazba="brož.",
            nazev="Dítě, škola a matematika",  # 245 $a "…matematika :"
            podnazev="konstruktivistické přístupy k vyučování",  # 245 $b "… /"
            mistoVydani="Praha",  # 260 $a "Praha :"
            nakladatelVydavatel="Portál",  # 260 $b "Portál,"
            datumVydani="2009",  # 260 $c
            poradiVydani="2., aktual. vyd.",  # 901 $f (250 $a "2., aktualiz. vyd.")
            zpracovatelZaznamu="ABA001",  # 040 $a
            format="23 cm",  # 300 $c
            autori=[
                # 100 0_ $a "Milan," $c "Hejný,": NKP's quirk, the surname in $c
                Author("Milan", "Hejný", ""),
                Author("František", "Kuřina", ""),  # 700 1_ "Kuřina, František," aut
            ],
            id_number="nkc20081810391",  # 001
        ),
        SemanticInfo(),
    ),
    # 901 $f "1. vyd." instead of 250's "Vyd. 1.", and no 998 (see tests/wire_samples.py).
    "unix_raymond_translation_765": (RAYMOND_MARCXML, SemanticInfo()),
    "vladci_strachu": (
        EPublication.empty(
            ISBN=["80-85892-15-4"],  # 020 $a "80-85892-15-4 (Klub Julese Vernea : brož.) :"
            vazba="brož.",  # the qualifier's last part
            cena="Kč 69,00",  # 020 $c
            nazev="Vládci strachu",  # 245 $a "Vládci strachu /"
            mistoVydani="Praha",  # 260 $a "Praha :"
            # 260 $b "United Fans :" $b "Klub Julese Vernea,": joined, ends clean
            nakladatelVydavatel="United Fans : Klub Julese Vernea",
            datumVydani="1995",  # 260 $c
            poradiVydani="1. vyd.",  # 901 $f "[1. vyd.]", brackets wrapping it all removed
            zpracovatelZaznamu="ABA001",  # 040 $a
            format="18 cm",  # 300 $c
            autori=[Author("Jiří", "Kulhánek", "")],  # 100 1_ "Kulhánek, Jiří," aut
            id_number="cpk19950114753",  # 001
        ),
        SemanticInfo(),
    ),
    # records/oai_marc
    "periodical_cps20150003391": (
        EPublication.empty(
            nazev="Cestou necestou",  # 245 $a "Cestou necestou :"
            podnazev="zážitky z cest",  # 245 $b
            # no 260: RDA's 264 _1 "Zámecká Lhota :" "Vydavatelství Stáza," "2015-"
            mistoVydani="Zámecká Lhota",
            nakladatelVydavatel="Vydavatelství Stáza",
            datumVydani="2015-",  # "-" after a digit stays: still published
            zpracovatelZaznamu="ABA001",  # 040 $a
            # 856 4_ (second indicator blank) is neither url nor internal_url;
            # 998 $a, then NKP's URL $u
            internal_urls=[
                aleph_link("000003391", "CZE-DEP"),
                "http://edeposit-test.nkp.cz/@@redirect-to-uuid/e514091c38cf493d8308611d401407f5",
            ],
            id_number="cps20150003391",  # 001
        ),
        SERIAL,  # FMT SE; IST "sk20151111" has no prefix of the five; BAS 01
    ),
    "ebook_kviti": (
        EPublication.empty(
            # 020 $a alone; $q "(v knize neuvedeno :" "online :" "pdf)" is no binding
            ISBN=["978-80-260-9149-3"],
            nazev="Hřbitovní kvítí",  # 245 $a "Hřbitovní kvítí /"
            mistoVydani="Praha",  # 264 _1 $a "Praha :"
            nakladatelVydavatel="Městská knihovna v Praze",  # 264 _1 $b "…v Praze,"
            datumVydani="2011",  # 264 _1 $c
            poradiVydani="1. vydání v MKP",  # 901 $f (250 $a "V MKP 1. vydání")
            zpracovatelZaznamu="ABA001",  # 040 $a
            autori=[Author("Jan", "Neruda", "")],  # 100 1_ "Neruda, Jan" aut
            anotace="Nakladatelská anotace",  # 520 $a
            internal_urls=[
                "http://web2.mlp.cz/koweb/00/03/37/00/12/hrbitovni_kviti.pdf",  # 856 40 $u
                aleph_link("000003390", "CZE-DEP"),  # 998 $a
                "http://edeposit-test.nkp.cz/@@redirect-to-uuid/a5c78db8066f4ace9c8c3d8423453c85",
            ],  # ... and URL $u
            id_number="nkc20150003390",  # 001
        ),
        SemanticInfo(
            hasAcquisitionFields=True,  # HLD
            acquisitionFields=["du20151120", "mazi"],  # STZ $a, STZ $b
            ISBNAgencyFields=["ii20151106", "anje"],  # IST $a ii… with its $b
            descriptiveCatFields=["jp20151109", "juri"],  # IST jp…
            descriptiveCatReviewFields=["jr20151116", "japr"],  # IST jr…
            subjectCatFields=["vp20151118", "maba"],  # IST vp…; "ox20151104" is none
            contentOfFMT="BK",
        ),
    ),
    "periodical_issn": (
        EPublication.empty(
            nazev="Pevnost",  # 245 $a "Pevnost :"; 022 ISSN is not an ISBN
            # 245 $b: the " : " inside stay, only the ends are cleaned
            podnazev="měsíčník o fantasy, mystice a historii : film - seriál - hudba -"
            " literatura - comics - internet - hry",
            mistoVydani="Praha",  # the first 260: "Praha :" "JASTOG.CZ," "2002-"
            nakladatelVydavatel="JASTOG.CZ",
            datumVydani="2002-",
            zpracovatelZaznamu="ABA001",  # 040 $a
            format="30 cm",  # 300 $c
            urls=["http://www.pevnost.cz"],  # 856 42 $u: the producer's page
            internal_urls=[aleph_link("001122037", "NKC")],  # 998 $a
            id_number="cps20021122037",  # 001
        ),
        SERIAL,
    ),
    "zavate_doby": (
        EPublication.empty(
            # two 020 $a; "(soubor : pdf)" in $q names a file, not a set of volumes
            ISBN=["978-80-260-9077-9", "978-80-260-9076-2"],
            invalid_ISBN=["978-80-260-9075-5"],  # 020 $z
            nazev="Zaváté doby se probouzejí",  # 245 $a
            castDil="Svazek II.",  # 245 $n "Svazek II.,"
            nazevCasti="Atlantis, Říše Inků ...",  # 245 $p
            mistoVydani="Brno",  # 260 $a "[Brno :"
            nakladatelVydavatel="Defensor Pacis",  # 260 $b "Defensor Pacis,"
            datumVydani="2013",  # 260 $c "2013]": digits kept
            urls=["http://edeposit.nkp.cz/"],  # 856 42 $u
            internal_urls=[
                _EDEPOSIT + "testovaci-nakladatelstvi-1/epublications/zavate-doby-se-probouzeji/"
                "edeposit-content-originalfile",  # 856 40 $u
                aleph_link("000003109", "CZE-DEP"),  # 998 $a
            ],
            id_number="nkc20150003109",  # 001; no 040 in this record
        ),
        SemanticInfo(
            hasAcquisitionFields=True,  # HLD
            acquisitionFields=["du20150421", "mazi"],  # STZ $a, $b
            contentOfFMT="BK",  # IST "ox20150421" is none of the five; BAS 49 is open
        ),
    ),
    # responses: the record inside each X-Server reply
    "kbdk_present_danmarc2": (
        EPublication.empty(
            nazev="Kvinder til salg",  # 245 $a
            nakladatelVydavatel="Lindhardt og Ringhof",  # 260 $b; no $a
            datumVydani="2017",  # 260 $c
            poradiVydani="1. e-bogsudgave",  # 250 $a
            # danMARC2's 100 00 $a "Hansen" $h "René": indicator 0 reads as MARC 21's
            # forename form ($h is no MARC 21 name part)
            autori=[Author("Hansen", "", "")],
            # 001 is a data field in danMARC2, not a control field: no id_number
        ),
        BOOK,  # FMT BK; BAS is a control field "bcx" here, not BAS $a 90
    ),
    "echa_eserial": (
        EPublication.empty(
            nazev="Echa ...",  # 245 $a "Echa ... :" ("." is no ISBD mark to remove)
            podnazev="fórum pro literární vědu",  # 245 $b "[fórum pro literární vědu] /"
            mistoVydani="Praha",  # 260 $a "Praha :"
            nakladatelVydavatel="Institut pro studium literatury",  # 260 $b "…literatury,"
            datumVydani="2014",  # 260 $c "[2014?]-": the "-" follows "]", not a digit
            zpracovatelZaznamu="ABA001",  # 040 $a
            autori=[Author("Jiří", "Brabec", "")],  # 700 1_ "Brabec, Jiří" aut
            internal_urls=[  # five 856 40 $u in record order, then 998 $a
                _ECHA + "echa-2010-2011/echa-2010-2011-eva-jelinkova-michael-spirit-eds.pdf",
                _ECHA + "echa-2010-2011-1/echa-2010-2011-eva-jelinkova-michael-spirit-eds.epub",
                _ECHA + "echa-2010-2011-1/echa-2010-2011-eva-jelinkova-michael-spirit-eds.mobi",
                _ECHA + "echa-2012-1/echa-2012-eva-jelinkova-michael-spirit-eds.mobi",
                _ECHA + "echa-2010-2011/echa-2013-eva-jelinkova-michael-spirit-eds.epub",
                aleph_link("000003059", "CZE-DEP"),
            ],
            id_number="nkc20150003059",  # 001
        ),
        # IST "jp20150312" $b "kola"; FMT SE (the original's own test on this record)
        SERIAL._replace(descriptiveCatFields=["jp20150312", "kola"]),
    ),
    "may_ardistan_3x020": (
        EPublication.empty(
            # three 020 $a, one a volume, in record order
            ISBN=["80-7174-091-8", "80-7174-129-9", "80-7174-173-6"],
            vazba="váz.",  # the first: "(sv. 1 : váz.) :", the last part
            cena="Kč 182,00",  # 020 $c of the first 020
            nazev="Ardistan a Džinistan",  # 245 $a "Ardistan a Džinistan /"
            mistoVydani="Brno",  # 260 $a "Brno :"
            nakladatelVydavatel="Návrat",  # 260 $b "Návrat,"
            datumVydani="1998-1999",  # 260 $c
            poradiVydani="Nezkrác. vyd.",  # no 901 $f: 250 $a
            zpracovatelZaznamu="ABA001",  # 040 $a
            format="22 cm",  # 300 $c
            # 100 1_ "May, Karl," aut; 700 Pospíchal (ill) and Šunda (trl) are not authors
            autori=[Author("Karl", "May", "")],
            originaly=["Ardistan und Dschinnistan."],  # no 765: 240 $a
            internal_urls=[aleph_link("000652691", "NKC")],  # 998 $a
            id_number="cpk19990652691",  # 001
        ),
        BOOK,
    ),
    "pasivni_domy": (
        EPublication.empty(
            ISBN=["978-80-904739-3-5"],  # 020 $a; $q "(online :" "pdf)" no binding
            nazev="Pasivní domy 2013",  # 245 $a "Pasivní domy 2013 /"
            mistoVydani="Brno",  # 260 $a "Brno :"
            nakladatelVydavatel="Centrum pasivního domu",  # 260 $b "…domu,"
            datumVydani="2013",  # 260 $c
            poradiVydani="1. vyd.",  # 901 $f "[1. vyd.]"
            zpracovatelZaznamu="ABA001",  # 040 $a
            # 700 1_ "Bárta, Jan" edt: an editor, no author
            urls=["http://edeposit-test.nkp.cz/"],  # 856 42 $u
            internal_urls=[
                _EDEPOSIT + "nakladatelstvi-gama/epublications/pasivni-domy-2013/"
                "pd2013_sbornik.pdf",  # 856 40 $u
                aleph_link("000003035", "CZE-DEP"),  # 998 $a
            ],
            id_number="nkc20150003035",  # 001
        ),
        # the original's test on this record gives the same
        SemanticInfo(
            hasAcquisitionFields=True,  # HLD
            acquisitionFields=["du20150219", "mazi"],  # STZ $a, $b
            ISBNAgencyFields=["ii20150224", "anje"],  # IST ii… $b
            descriptiveCatFields=["jp20150225", "kola"],  # IST jp… $b
            isClosed=True,  # BAS $a 90
            contentOfFMT="BK",
            parsedSummaryRecordSysNumber="nkc20150003043",  # the word with digits
            summaryRecordSysNumber="Seriálový záznam viz nkc20150003043",  # PJM $a
        ),
    ),
    "find_doc_unix_raymond": (RAYMOND, BOOK),  # DESIGN §3.3's reference record
    "periodical_with_no_entry": (
        EPublication.empty(
            nazev="Rozpravy Československé akademie věd.",  # 245 $a
            nazevCasti="Matematické a přírodní vědy",  # 245 $p
            # 260 $a "Praha (112 29 Praha 1, Vodičkova 40) :": the ")" closes a bracket
            # opened inside the value, so only " :" goes
            mistoVydani="Praha (112 29 Praha 1, Vodičkova 40)",
            nakladatelVydavatel="Academia",  # 260 $b "Academia,"
            datumVydani="1953-1992",  # 260 $c
            zpracovatelZaznamu="ABA001",  # 040 $a
            format="25 cm",  # 300 $c
            id_number="cps19950356514",  # 001
        ),
        SERIAL,
    ),
    "present_single_cze_dep": (
        EPublication.empty(
            ISBN=["978-80-7408-086-9"],  # 020 $a; $q is no binding
            nazev="Controlling v MSP - nejen o číslech",  # 245 $a "… :"
            podnazev="sborník z mezinárodní vědecké konference : Praha, 25. dubna 2014,"
            " Vysoká škola finanční a správní = Controlling in SMEs - beyond numbers :"
            " proceedings of the international scientific conference : Prague, April 25th,"
            " 2014, University of Finance and Administration Prague",  # 245 $b "… /"
            mistoVydani="Praha",  # 260 $a "Praha :"
            nakladatelVydavatel="Vysoká škola finanční a správní",  # 260 $b "…správní,"
            datumVydani="2014",  # 260 $c
            poradiVydani="1. vyd.",  # 901 $f
            zpracovatelZaznamu="ABA001",  # 040 $a
            # 700 1_ "Kubíčková, Dana" edt: no author; 111 (a conference) is no person
            urls=["http://edeposit.nkp.cz/"],  # 856 42 $u
            internal_urls=[
                _EDEPOSIT + "beta-nakladatelstvi/epublications/controlling-v-msp-nejen-o-cislech/"
                "controlling.pdf",  # 856 40 $u
                aleph_link("000003024", "CZE-DEP"),  # 998 $a
            ],
            id_number="nkc20150003024",  # 001
        ),
        SemanticInfo(
            hasAcquisitionFields=True,  # HLD
            acquisitionFields=["du20150209", "mazi"],  # STZ $a, $b
            ISBNAgencyFields=["ii20150209", "anje"],  # IST ii…
            descriptiveCatFields=["jp20150211", "juri"],  # IST jp…
            descriptiveCatReviewFields=["jr20150212", "japr"],  # IST jr…
            subjectCatFields=["vp20150213", "napo"],  # IST vp…
            subjectCatReviewFields=["vr20150224", "mase"],  # IST vr…
            contentOfFMT="BK",  # BAS 01: open
        ),
    ),
}
