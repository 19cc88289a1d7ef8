"""Each detector on values it must find, and on ordinary text it must leave alone."""

from __future__ import annotations

import pytest

from cacheback.pii import Scanner, ner_status
from cacheback.pii._structured import iban_ok, luhn_ok

pytest.importorskip("phonenumbers", reason="phonenumberslite is a core dependency")

RULES = Scanner(ner=False)


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("email me at jo.doe+x@example.co.uk please", "email", "jo.doe+x@example.co.uk"),
    ("call me on +44 20 7946 0958", "phone", "+44 20 7946 0958"),
    ("my phone number is (460) 648-7647", "phone", "(460) 648-7647"),
    ("my card 4539 1488 0343 6467 was declined", "card", "4539 1488 0343 6467"),
    ("amex 378282246310005 charged twice", "card", "378282246310005"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "iban", "DE89 3704 0044 0532 0130 00"),
    ("send it to GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
    ("my ssn is 123-45-6789", "national_id", "123-45-6789"),
    ("NI number AB 12 34 56 C", "national_id", "AB 12 34 56 C"),
    ("login from 8.8.4.4 was not me", "ip", "8.8.4.4"),
    ("blocked from 2a00:1450:4001:82b::200e", "ip", "2a00:1450:4001:82b::200e"),
    ("key sk-proj-abcdefghijklmnopqrstuvwxyz012345 fails", "secret",
     "sk-proj-abcdefghijklmnopqrstuvwxyz012345"),
    ("AKIAIOSFODNN7EXAMPLE leaked", "secret", "AKIAIOSFODNN7EXAMPLE"),
    ("token Zx8kQ2pLm9Vr4TbN7wYc3HdF6jGs", "secret", "Zx8kQ2pLm9Vr4TbN7wYc3HdF6jGs"),
    ("I live at 391 Johnson Burg Apt. 636", "address", "391 Johnson Burg Apt. 636"),
    ("Lieferung an Paulo-Schleich-Straße 19 bitte", "address", "Paulo-Schleich-Straße 19"),
    ("My name is Hans Müller, where is my parcel?", "name", "Hans Müller"),
])
def test_finds(text: str, kind: str, value: str) -> None:
    found = [(f.kind, f.value) for f in RULES.scan(text)]
    assert (kind, value) in found


@pytest.mark.parametrize("text", [
    "How do I reset my password?",
    "I was charged 3 times for 1499 dollars on 2024-01-15",
    "can you help me canceling purchase 00004587345?",
    "check invoice #12588",
    "my router is at 192.168.0.1",
    "What changed in version 2.1.3 of the app?",
    "What is the Apple Pay limit?",
    "Wall Street opens at 9:30",
    "I ordered 3 items on the road",
    "During 2 weeks nothing arrived",
    "sha 4d7a2 of the release",
    "The token is used for what exactly?",
])
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert RULES.scan(text) == []


def test_validators() -> None:
    assert luhn_ok("4539148803436467") and not luhn_ok("4539148803436468")
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE89370400440532013001")


def test_redaction_and_reprs_hold_no_values() -> None:
    text = "my card 4539 1488 0343 6467 was declined, mail jo@example.com"
    findings = RULES.scan(text)
    assert Scanner.redact(text, findings) == "my card <CARD> was declined, mail <EMAIL>"
    assert "4539" not in repr(findings) and "jo@" not in repr(findings)


def test_allow_list() -> None:
    assert Scanner(ner=False, allow=["support@acme.com"]).scan("mail support@acme.com") == []


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        Scanner(kinds=["passport"])


@pytest.mark.skipif(not ner_status()[0], reason="spaCy NER not installed")
def test_ner_finds_names_without_a_cue() -> None:
    found = Scanner().scan("I want to send money to Pierre Dubois, how long does it take?")
    assert found and {f.kind for f in found} == {"name"}
    assert Scanner().scan("How tall is Mount Everest?") == []
