"""The guard remembers screenings by digest: a repeated question is not scanned again, and the
answer is the same as the first time in every mode."""

from __future__ import annotations

from cacheback.pii import Finding, PIIGuard, Scanner


class CountingScanner(Scanner):
    def __init__(self) -> None:
        super().__init__(ner=False)
        self.texts: list[str] = []

    def scan(self, text: str, names: bool = True) -> list[Finding]:
        self.texts.append(text)
        return super().scan(text, names)


def test_a_repeated_clean_question_is_scanned_once() -> None:
    scanner = CountingScanner()
    guard = PIIGuard("bypass", scanner)
    for _ in range(3):
        assert guard.screen("How do I reset my password?").action == "clean"
    assert scanner.texts == ["How do I reset my password?"]


def test_repeats_screen_as_the_first_time_in_every_mode() -> None:
    personal = "My card 4539 1488 0343 6467 was declined"
    scanner = CountingScanner()
    bypass, redact = PIIGuard("bypass", scanner), PIIGuard("redact", scanner)
    for _ in range(2):
        assert bypass.screen(personal).action == "bypass"
        assert bypass.screen(personal).kinds == ("card",)
        redacted = redact.screen(personal)
        assert (redacted.action, redacted.text) == ("redacted", "My card <CARD> was declined")
        assert redact.screen(personal, context=["call me at maria.rossi@example.com"]).bypass
    assert scanner.texts.count(personal) == 1 + 1 + 2  # each guard once, then redaction's own


def test_a_lone_surrogate_is_scanned_not_a_scanner_fault() -> None:
    """The name model cannot encode a lone surrogate: the text it reads has U+FFFD instead
    (same offsets), so the screening happens rather than failing closed as "unscanned"."""
    from cacheback.pii import ner_status
    guard = PIIGuard("redact", Scanner(ner=True))
    screening = guard.screen("Hello, I spoke with Margaret Thompson yesterday \ud800 about it")
    if ner_status()[0]:
        assert "name" in screening.kinds
    assert "unscanned" not in screening.kinds
    assert guard.screen("How do I reset \udfff my password?").action == "clean"
