"""The bundled support-bot set: 40 BANKING77 intents with 8 customer questions and one answer each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from .._normalize import normalise_query

__all__ = ["Intent", "SupportSet", "load_support_set"]


@dataclass(frozen=True)
class Intent:
    """One thing customers ask about: its label, the canned answer, and how customers ask it."""

    name: str
    answer: str
    queries: tuple[str, ...]


class SupportSet:
    """The labelled questions; knows the intent of every question, and of rewordings made of them."""

    def __init__(self, intents: Sequence[Intent], source: str) -> None:
        self.intents = tuple(intents)
        self.source = source
        self._answers = {i.name: i.answer for i in self.intents}
        self._labels = {normalise_query(q): i.name for i in self.intents for q in i.queries}

    def intent_of(self, text: str) -> str | None:
        """The intent of a question this set holds or was told about; ``None`` if unknown."""
        return self._labels.get(normalise_query(text))

    def answer_for(self, intent: str) -> str:
        return self._answers[intent]

    def label(self, text: str, intent: str) -> None:
        """Record the intent of a rewording, so a hit on it can be judged later."""
        self._labels.setdefault(normalise_query(text), intent)


def load_support_set() -> SupportSet:
    """Read ``data/support_bot.json`` from the installed package."""
    text = resources.files(__package__).joinpath("data/support_bot.json").read_text("utf-8")
    raw = json.loads(text)
    intents = [Intent(i["intent"], i["answer"], tuple(i["queries"])) for i in raw["intents"]]
    return SupportSet(intents, raw["source"])
