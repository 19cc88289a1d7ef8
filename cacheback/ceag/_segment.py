"""Cut a cached answer into units that can be recombined: sentences, list items, whole code blocks."""

from __future__ import annotations

import re

from ..conversation._text import split_sentences

__all__ = ["answer_units", "is_block"]

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


def is_block(unit: str) -> bool:
    """Whether a unit stands on its own line (code block, list item, heading), not in running text."""
    return "\n" in unit or any(p.match(unit) for p in (_FENCE, _LIST_ITEM, _HEADING))
