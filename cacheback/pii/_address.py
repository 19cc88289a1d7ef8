"""Street addresses: a house number and a street, as written in English, German, Dutch, French,
Spanish and Italian. Rules, not a model: a street is a street type (the USPS list of suffixes,
``-straße``, ``rue``, ``Calle``, ``Via``...) next to a name, and it counts as an address only
with a house number or a flat/unit number beside it, so "Wall Street" or "Apple Park" alone stay
ordinary text. Cities and countries alone are not addresses.
"""

from __future__ import annotations

import re
from typing import Final

from ._findings import Finding

__all__ = ["find_addresses"]

#: USPS street suffixes (Publication 28, appendix C1) with their common abbreviations.
_EN_SUFFIXES: Final = (
    "Alley Aly Avenue Ave Av Bayou Beach Bend Bluffs? Bottom Boulevard Blvd Branch Bridge Brooks? "
    "Burgs? Bypass Camp Canyon Cape Causeway Centers? Circles? Cir Cliffs? Close Club Commons? "
    "Corners? Course Courts? Ct Coves? Creek Crescent Cres Crest Crossing Crossroads? Curve Dale "
    "Dam Divide Drives? Dr Estates? Expressway Expy Extensions? Ext Falls? Ferry Fields? Flats? "
    "Fords? Forest Forges? Forks? Fort Freeway Fwy Gardens? Gateway Glens? Greens? Groves? Harbors? "
    "Haven Heights Hts Highway Hwy Hills? Hollow Inlet Islands? Isle Junctions? Keys? Knolls? Lakes? "
    "Land Landing Lane Ln Lights? Loaf Locks? Lodge Loop Mall Manors? Meadows? Mews Mills? Mission "
    "Motorway Mount Mountains? Neck Orchard Oval Overpass Parks? Parkways? Pkwy Pass Passage Path "
    "Pike Pines? Place Pl Plains? Plaza Points? Ports? Prairie Radial Ramp Ranch Rapids? Rest "
    "Ridges? River Roads? Rd Route Row Rue Run Shoals? Shores? Skyway Springs? Spurs? Squares? Sq "
    "Stations? Stravenue Streams? Streets? St Str Summit Terrace Ter Throughway Trace Track "
    "Trafficway Trail Trl Tunnel Turnpike Underpass Unions? Valleys? Viaduct Views? Villages? Ville "
    "Vista Walks? Wall Ways? Wells? Wynd Quays? Parade Esplanade Grove Gate Rise Hill Lawn").split()
_EN_PLAIN: Final = "street|st|road|rd|avenue|ave|lane|ln|drive|boulevard|blvd"
_NUMBER: Final = r"\d{1,6}[A-Za-z]?(?:\s?[-/]\s?\d{1,5}[A-Za-z]?)?"
_UNIT: Final = (r"(?:(?:Flat|Studio|Apt\.?|Apartment|Suite|Ste\.?|Unit|Level|Floor|Room|Rm\.?|#)"
                r"\s?\d{1,5}[A-Za-z]?,?\s+)")
_NAME_WORD: Final = r"(?:[A-Z][\w'’.-]*|Mc\w+|[Oo]'\w+|of|the|de|la)"

_ENGLISH: Final = re.compile(
    rf"(?:{_UNIT}?{_NUMBER},?\s+|{_UNIT})(?:{_NAME_WORD}\s+){{0,4}}{_NAME_WORD}\s+"
    rf"(?:{'|'.join(_EN_SUFFIXES)})\b\.?"
    rf"(?:,?\s+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|#)\s?\d{{1,5}}[A-Za-z]?)?")
_ENGLISH_LOWER: Final = re.compile(
    rf"(?<![$€£\d.,])\b\d{{1,6}}[a-z]?\s+(?:[a-z][\w'-]*\s+){{1,3}}(?:{_EN_PLAIN})\b",
    re.IGNORECASE)
_GERMANIC: Final = re.compile(
    r"\b[A-ZÄÖÜ][\w-]{2,}?(?i:straße|strasse|str\.|gasse|platz|weg|allee|damm|ufer|chaussee|pfad|"
    r"steig|markt|straat|laan|plein|gracht|kade|baan|dijk|singel|dreef|steeg|boulevard|hof|ring|pad)"
    rf"\s*{_NUMBER}\b")
_GERMANIC_TWO_WORDS: Final = re.compile(
    rf"\b[A-ZÄÖÜ][\w-]+\s+(?:Straße|Strasse|Str\.|Gasse|Platz|Ring|Weg|Allee|Damm|Ufer)\s+{_NUMBER}\b")
_FRENCH: Final = re.compile(
    r"(?:\b\d{1,5}(?:\s?(?:bis|ter))?,?\s+)?\b(?:rue|avenue|av\.|boulevard|bd|chemin|impasse|place|"
    r"allée|quai|route|cours|passage|square|voie)\s+(?:(?:de|du|des|d'|de la|de l'|la|le|les)\s*)?"
    r"[A-ZÀ-Ý][\w'’-]+(?:\s+[A-ZÀ-Ý][\w'’-]+){0,3}")
_SOUTHERN: Final = re.compile(
    r"(?<!\w)(?:Calle|C/|C\.|Avenida|Avda\.?|Plaza|Paseo|Ronda|Camino|Carrer|Vial|Vía|Rambla|Glorieta|"
    r"Urbanización|Callejón|Cañada|Alameda|Acceso|Pasaje|Cuesta|Pasadizo|Travesía|"
    r"Via|Viale|Piazza|Piazzale|Corso|Vicolo|Largo|Contrada|Borgo|Strada|Rotonda|Canale|Incrocio|"
    r"Stretto|Lungomare|Vico|Salita)\s+(?:(?:de|del|de la|de los|di|della|dei|delle)\s+)?"
    r"[A-ZÀ-Ý][\w'’-]+(?:\s+[A-ZÀ-Ý][\w'’-]+){0,3},?\s+(?:n\.?\s?º?\s?)?\d{1,5}\b")
_UK_POSTCODE: Final = re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?)\s?\d[ABD-HJLNP-UW-Z]{2}\b")
_STOP_WORDS: Final = frozenset(
    "the a an my on in to for of at and your our this that per all each every by with from it "
    "is are was were be have has had i you we they he she or not no".split())
_PATTERNS: Final = (_ENGLISH, _ENGLISH_LOWER, _GERMANIC, _GERMANIC_TWO_WORDS, _FRENCH, _SOUTHERN,
                    _UK_POSTCODE)
_HINT: Final = re.compile(
    r"\d|\b(?:rue|avenue|boulevard|chemin|impasse|allée|quai|Flat|Studio|Apt|Suite|Unit)\b")


def find_addresses(text: str) -> list[Finding]:
    """Street addresses and UK postcodes in ``text``; overlapping matches are merged."""
    if not _HINT.search(text):
        return []
    spans: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            value = m.group().rstrip(" ,")
            if pattern is _FRENCH and not re.match(r"\d", value) and len(value.split()) < 2:
                continue
            if pattern is _ENGLISH_LOWER and _STOP_WORDS.intersection(value.lower().split()[1:-1]):
                continue
            spans.append((m.start(), m.start() + len(value)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return [Finding("address", s, e, text[s:e], "street") for s, e in merged]
