"""Cut a cached answer into units that can be recombined: sentences, list items, whole code blocks."""

from __future__ import annotations

import re

from ..conversation._text import split_sentences

__all__ = ["answer_units"]

_FENCE = re.compile(r"^(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s")


def answer_units(text: str) -> list[str]:
    """Units of ``text`` in their original order. A code block is one unit (never split), as is
    each list item and heading; other lines are split into sentences."""
    units: list[str] = []
    fence: list[str] | None = None
    for line in text.splitlines():
        if fence is not None:
            fence.append(line)
            if _FENCE.match(line.strip()):
                units.append("\n".join(fence))
                fence = None
        elif _FENCE.match(line.strip()):
            fence = [line]
        elif _LIST_ITEM.match(line) or _HEADING.match(line):
            units.append(line.rstrip())
        elif line.strip():
            units.extend(split_sentences(line))
    if fence is not None:
        units.append("\n".join(fence))
    return units
