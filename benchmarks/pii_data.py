"""Generated personal data embedded in realistic support questions (Faker, several locales),
and the ordinary questions of the shared data sets, for benchmarks/pii_bench.py and tests/pii.

Every sample is (kind, question, start, end): ``question[start:end]`` is the personal value.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path

from faker import Faker

__all__ = ["LOCALES", "TEMPLATES", "generate", "ordinary_questions"]

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL")

TEMPLATES: dict[str, tuple[str, ...]] = {
    "email": (
        "Please send the invoice to {v}, I never got it.",
        "my email is {v} can you reset my password",
        "Why do I keep getting a 'user not found' error for {v}?",
        "Can you update the contact address on my account to {v}?",
        "I registered with {v} but the confirmation mail never arrived",
        "hi, {v} here - how do I unsubscribe from the newsletter?",
    ),
    "phone": (
        "Can you call me back at {v}? My card was declined.",
        "my phone number is {v}, why can't I receive the verification SMS",
        "Please update my mobile to {v}",
        "I got a missed call from {v}, is that your support line?",
        "Text me at {v} when my order ships",
        "How do I change the number {v} linked to my account?",
    ),
    "card": (
        "My card {v} was declined, why?",
        "why was {v} charged twice this month",
        "Can you block card number {v}? I lost it.",
        "I want to dispute a payment made with {v}",
        "is {v} still valid for online purchases?",
        "Please remove the card {v} from my wallet",
    ),
    "iban": (
        "I sent money to {v} but it never arrived",
        "Is the transfer to IBAN {v} complete?",
        "Can you change my payout account to {v}?",
        "my iban is {v}, why was the direct debit rejected",
        "How long does a SEPA transfer to {v} take?",
    ),
    "national_id": (
        "I need to update my SSN, it is {v}",
        "My social security number {v} shows up wrong on the tax form",
        "Do you need my national insurance number? It's {v}.",
        "The form rejected {v} as my ID number, what do I do?",
        "can you verify my identity with {v}",
    ),
    "ip": (
        "Why is my IP {v} blocked from logging in?",
        "I keep getting rate limited from {v}",
        "There was a login from {v} that wasn't me",
        "Can you whitelist {v} for the API?",
        "the server at {v} refuses connections, is it down?",
    ),
    "secret": (
        "Why does my API key {v} return 401?",
        "is this token still valid: {v}",
        "I accidentally posted {v} on GitHub, how do I revoke it?",
        "Getting 'invalid credentials' with {v} since this morning",
        "Can you rotate the key {v} for me?",
    ),
    "address": (
        "My parcel was sent to {v} but I moved, can you redirect it?",
        "I live at {v}, where is my parcel?",
        "Please change my billing address to {v}",
        "Do you deliver to {v}?",
        "The courier could not find {v}, what now?",
        "ship it to {v} please",
    ),
    "name": (
        "Hi, I am {v} and my card was declined.",
        "My name is {v}, where is my parcel?",
        "Can I add {v} as a secondary card holder?",
        "I want to send money to {v}, how long does it take?",
        "{v} here, I cannot log into my account",
        "Please transfer the account ownership to {v}",
        "The payment from {v} never arrived",
        "Why does my statement show {v} as the payee?",
    ),
}

_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"


def _grouped(value: str, rng: random.Random, size: int = 4) -> str:
    style = rng.random()
    if style < 0.4:
        return value
    sep = " " if style < 0.8 else "-"
    return sep.join(value[i:i + size] for i in range(0, len(value), size))


def _token(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _secret(fake: Faker, rng: random.Random) -> str:
    b64 = string.ascii_letters + string.digits + "-_"
    kind = rng.randrange(9)
    if kind == 0:
        return "sk-proj-" + _token(rng, 48, b64)
    if kind == 1:
        return "sk-ant-api03-" + _token(rng, 40, b64)
    if kind == 2:
        return "ghp_" + _token(rng, 36)
    if kind == 3:
        return "AKIA" + _token(rng, 16, string.ascii_uppercase + string.digits)
    if kind == 4:
        return "xoxb-" + "-".join(_token(rng, 12, string.digits) for _ in range(2)) + "-" + _token(rng, 24)
    if kind == 5:
        return "eyJhbGciOiJIUzI1NiJ9.eyJ" + _token(rng, 40, b64) + "." + _token(rng, 43, b64)
    if kind == 6:
        return "sk_live_" + _token(rng, 24)
    if kind == 7:
        return fake.password(length=32, special_chars=False)
    return _token(rng, 40, string.ascii_letters + string.digits + "+/")


def _value(kind: str, fake: Faker, rng: random.Random, locale: str) -> str:
    if kind == "email":
        return rng.choice((fake.email, fake.free_email, fake.company_email))()
    if kind == "phone":
        return fake.phone_number()
    if kind == "card":
        return _grouped(fake.credit_card_number(), rng)
    if kind == "iban":
        return _grouped(fake.iban(), rng)
    if kind == "national_id":
        if rng.random() < 0.5:
            return Faker("en_US").ssn() if locale != "en_US" else fake.ssn()
        prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
        while prefix in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
        return (prefix
                + " ".join(f"{rng.randrange(100):02d}" for _ in range(3)).replace(" ", rng.choice((" ", "")))
                + rng.choice(" ") + rng.choice("ABCD"))
    if kind == "ip":
        if rng.random() < 0.6:
            return fake.ipv4_public()
        while True:  # a global address: private and documentation ranges are not personal
            address = fake.ipv6()
            if ipaddress.IPv6Address(address).is_global:
                return address
    if kind == "secret":
        return _secret(fake, rng)
    if kind == "address":
        return fake.street_address().replace("\n", ", ").strip()
    if kind == "name":
        return fake.name()
    raise ValueError(kind)


def generate(kind: str, n: int, seed: int = 0, locales: tuple[str, ...] = LOCALES
             ) -> list[tuple[str, str, int, int, str]]:
    """``n`` samples of ``kind``: (kind, question, start, end, locale), locales in turn."""
    rng = random.Random(f"{kind}-{seed}")
    fakers = {}
    for loc in locales:
        fake = Faker(loc)
        fake.seed_instance(rng.randrange(2**31))
        fakers[loc] = fake
    out = []
    for i in range(n):
        locale = locales[i % len(locales)]
        value = _value(kind, fakers[locale], rng, locale)
        template = rng.choice(TEMPLATES[kind])
        start = template.index("{v}")
        question = template.replace("{v}", value)
        out.append((kind, question, start, start + len(value), locale))
    return out


def _bitext(root: Path) -> Iterator[tuple[str, str]]:
    with open(root / "bitext" / "bitext_customer_support_6480.csv", newline="") as f:
        for row in csv.DictReader(f):
            yield row["instruction"], row["entity_type"]


def ordinary_questions(root: Path) -> dict[str, list[str]]:
    """Questions with no personal data: BANKING77 (train), CLINC150 (train + val, in-scope and
    out-of-scope) and bitext. Bitext rows whose entity is a person's name ("bill from Mr. Jones")
    hold personal data and are left out; order and invoice numbers, cities, countries and amounts
    are not personal and stay in."""
    with open(root / "banking77" / "train.csv", newline="") as f:
        banking = [row["text"] for row in csv.DictReader(f)]
    clinc_raw = json.loads((root / "clinc150" / "clinc150_dev.json").read_text())
    clinc = [text for part in clinc_raw.values() for text, _ in part]
    bitext = [text for text, entity in _bitext(root) if entity != "person_name"]
    return {"banking77": banking, "clinc150": clinc, "bitext": bitext}


def bitext_named(root: Path) -> list[str]:
    """The bitext questions that name a person (positives, not false positives)."""
    return [text for text, entity in _bitext(root) if entity == "person_name"]


Detect = Callable[[str], list]
