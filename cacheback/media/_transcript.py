"""One written form for what was said: a spoken question's transcript before it becomes a key.

Whisper writes the same words differently from one recording to the next: "two" or "2", "6am" or
"6 a.m.", "What's" or "What is", "colour" or "color", "e-mail", a comma or a full stop between
clauses, a filler "um". None of that changes the question, but the exact tier compares the text
and the match decision reads its words, so each difference costs hits. :func:`normalise_transcript`
rewrites a transcript into one form, in the spirit of the English text normaliser Whisper's
authors use to score transcripts (numbers as digits, contractions expanded, one spelling,
no punctuation, no fillers), with one rule of its own: **never merge two different meanings**.
Homophones ("to" / "two", "for" / "four"), ordinals ("a second bag" is not "2 bags") and words with
other senses ("pounds", "cheque") are left as written; only forms that cannot mean anything
else are unified. Capitals inside a sentence are kept (the match decision reads them as names);
a sentence's first word is lower-cased, as the match decision ignores its capital anyway.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise_transcript"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}

#: Contractions whose expansion is not the regular one ("won't" is "will not").
_IRREGULAR = {
    "won't": "will not", "can't": "can not", "cannot": "can not", "shan't": "shall not",
    "ain't": "is not", "let's": "let us", "y'all": "you all", "gonna": "going to",
    "wanna": "want to", "gotta": "got to", "'cause": "because",
}
#: "'s" is "is" after these words; elsewhere it is a possessive and stays.
_IS_BEFORE = frozenset(
    "it that what where who how there here he she this when why which everything nothing "
    "something someone everyone".split())
_SUFFIXES = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"), ("'m", " am"))
#: "'d" is "had" before a past participle Whisper would write after it, else "would".
_HAD_NEXT = frozenset("been gone had got done seen better".split())

#: British spellings Whisper alternates with the American ones (tiny.en writes mostly American):
#: one form each. Only words with no other meaning ("cheque", "tyre" kept out of caution: none).
_SPELLINGS = {
    "colour": "color", "colours": "colors", "coloured": "colored", "favourite": "favorite",
    "favourites": "favorites", "centre": "center", "centres": "centers", "theatre": "theater",
    "metre": "meter", "metres": "meters", "litre": "liter", "litres": "liters",
    "kilometre": "kilometer", "kilometres": "kilometers", "cancelled": "canceled",
    "cancelling": "canceling", "travelled": "traveled", "travelling": "traveling",
    "traveller": "traveler", "travellers": "travelers", "labelled": "labeled",
    "modelling": "modeling", "jewellery": "jewelry", "catalogue": "catalog",
    "catalogues": "catalogs", "programme": "program", "programmes": "programs",
    "organise": "organize", "organised": "organized", "organisation": "organization",
    "realise": "realize", "realised": "realized", "recognise": "recognize",
    "apologise": "apologize", "customise": "customize", "customised": "customized",
    "personalise": "personalize", "personalised": "personalized", "authorise": "authorize",
    "authorised": "authorized", "authorisation": "authorization", "minimise": "minimize",
    "maximise": "maximize", "prioritise": "prioritize", "summarise": "summarize",
    "analyse": "analyze", "analysed": "analyzed", "behaviour": "behavior", "neighbour": "neighbor",
    "neighbourhood": "neighborhood", "honour": "honor", "humour": "humor", "flavour": "flavor",
    "flavours": "flavors", "labour": "labor", "harbour": "harbor", "rumour": "rumor",
    "favour": "favor", "savoury": "savory", "grey": "gray", "licence": "license",
    "defence": "defense", "offence": "offense", "enrol": "enroll", "enrolment": "enrollment",
    "fulfil": "fulfill", "instalment": "installment", "instalments": "installments",
    "aluminium": "aluminum", "pyjamas": "pajamas", "cosy": "cozy", "plough": "plow",
    "mould": "mold", "moustache": "mustache", "sceptical": "skeptical", "dialogue": "dialog",
    "judgement": "judgment", "ageing": "aging", "storey": "story", "storeys": "stories",
    "e-mail": "email", "e-mails": "emails", "wi-fi": "wifi", "ok": "okay", "o.k.": "okay",
    "alright": "all right", "percent": "%", "per cent": "%",
}
#: Sounds, not words: Whisper writes them when a speaker hesitates.
_FILLERS = frozenset("um umm uh uhm uh-huh erm er hmm hm mm mmm mhm ah".split())

_NOISE = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪+")
_TOKEN = re.compile(r"[$€£]?\d+(?:[.,:]\d+)*%?|[^\W_]+(?:['’][^\W_]+)*|['’][^\W_]+|\S")
_AM_PM = re.compile(r"\b([ap])\.?\s?m\b\.?", re.IGNORECASE)
_GLUED_AM_PM = re.compile(r"(\d)([ap])\.?m\b\.?", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_SENTENCE_END = frozenset(".?!")
#: A full stop after these ends an abbreviation, not a sentence ("Dr. Smith").
_ABBREVIATIONS = frozenset("mr mrs ms dr st prof jr sr vs etc".split())
#: Spellings written with a hyphen or a space, unified before the text is split into words.
_JOINED = re.compile(r"\b(?:e-mails?|wi-fi|per cent)\b", re.IGNORECASE)


def _number_at(tokens: list[str], i: int) -> tuple[int, str]:
    """The number spelt in words from ``tokens[i]``: where it ends and its digits, or
    ``(i, "")`` when no number starts there. A word that cannot continue the number starts a new
    one ("twenty twenty" is 20 and 20, "five six" is 5 and 6)."""
    total = current = 0
    last = ""
    j = i
    while j < len(tokens):
        word = tokens[j].lower()
        following = tokens[j + 1].lower() if j + 1 < len(tokens) else ""
        if word == "a" and j == i and following in ("hundred", "thousand"):
            current, last = 1, "unit"
        elif word in _UNITS and (last in ("", "scale") or last == "ten" and 0 < _UNITS[word] < 10):
            current += _UNITS[word]
            last = "unit"
        elif word in _TENS and last in ("", "scale"):
            current += _TENS[word]
            last = "ten"
        elif word == "hundred" and last in ("unit", "ten") and current < 100:
            current *= 100
            last = "scale"
        elif word in _SCALES and word != "hundred" and last in ("unit", "ten", "scale") and current:
            total += current * _SCALES[word]
            current, last = 0, "scale"
        elif word == "and" and last == "scale" and (following in _UNITS or following in _TENS):
            pass
        else:
            break
        j += 1
    if j == i:
        return i, ""
    value = str(total + current)
    if j + 1 < len(tokens) and tokens[j].lower() == "point" and _UNITS.get(tokens[j + 1].lower(), 10) < 10:
        digits = []
        j += 1
        while j < len(tokens) and _UNITS.get(tokens[j].lower(), 10) < 10:
            digits.append(str(_UNITS[tokens[j].lower()]))
            j += 1
        value += "." + "".join(digits)
    return j, value


def _number_words(tokens: list[str]) -> list[str]:
    """Runs of number words as digits: "twenty one" -> "21", "two hundred and five" -> "205",
    "two point five" -> "2.5", "a hundred" -> "100"."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        end, value = _number_at(tokens, i)
        if end == i:
            out.append(tokens[i])
            i += 1
        else:
            out.append(value)
            i = end
    return out


def _units_after_numbers(tokens: list[str]) -> list[str]:
    """ "5 dollars" -> "$5", "5 euros" -> "€5", "10 %" -> "10%", "6 o'clock" / "6:00" -> "6"."""
    out: list[str] = []
    for token in tokens:
        previous = out[-1] if out else ""
        number = bool(re.fullmatch(r"\d+(?:\.\d+)?", previous))
        lower = token.lower()
        if number and lower in ("dollars", "dollar", "bucks"):
            out[-1] = "$" + previous
        elif number and lower in ("euros", "euro"):
            out[-1] = "€" + previous
        elif number and lower == "%":
            out[-1] = previous + "%"
        elif number and lower in ("o'clock", "o’clock"):
            continue
        else:
            out.append(re.sub(r"^(\d{1,2}):00$", r"\1", token))
    return out


def _expand(token: str, following: str) -> str:
    """A contraction spelt out ("What's" -> "What is"); other words unchanged."""
    lower = token.lower().replace("’", "'")
    if lower in _IRREGULAR:
        expanded = _IRREGULAR[lower]
        return expanded[0].upper() + expanded[1:] if token[0].isupper() else expanded
    for suffix, full in _SUFFIXES:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return token[: -len(suffix)] + full
    if lower.endswith("'d") and len(lower) > 2:
        return token[:-2] + (" had" if following.lower() in _HAD_NEXT else " would")
    if lower.endswith("'s") and lower[:-2] in _IS_BEFORE:
        return token[:-2] + " is"
    return token.replace("’", "'")


def normalise_transcript(text: str) -> str:
    """``text`` (a transcript) in one written form: see the module docstring. Pure and fast
    (tens of microseconds); an empty or all-noise transcript gives ``""``."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'")
    text = _NOISE.sub(" ", text)
    text = _GLUED_AM_PM.sub(r"\1 \2m", text)
    text = _AM_PM.sub(lambda m: f"{m.group(1).lower()}m", text)
    text = _THOUSANDS.sub("", text)
    text = _JOINED.sub(lambda m: _SPELLINGS[m.group(0).lower()], text)
    raw = _TOKEN.findall(text)
    words: list[str] = []
    initial = True
    for i, token in enumerate(raw):
        if token in _SENTENCE_END:
            initial = initial or not (i and raw[i - 1].lower() in _ABBREVIATIONS)
            continue
        if not (token[0].isalnum() or token[0] in "$€£'%"):
            continue
        if token.lower() in _FILLERS:
            continue
        following = raw[i + 1] if i + 1 < len(raw) else ""
        expanded = _expand(token, following).split()
        first = expanded[0]
        if initial and first != "I" and not (len(first) > 1 and first.isupper()):
            expanded[0] = first.lower()
        initial = False
        for word in expanded:
            spelling = _SPELLINGS.get(word.lower())
            if spelling is not None:
                word = spelling.capitalize() if word.istitle() else spelling
            words.extend(word.split())
    words = [w.lower() if w.lower() in ("am", "pm") and i and words[i - 1].isdigit() else w
             for i, w in enumerate(words)]
    return " ".join(_units_after_numbers(_number_words(words)))
