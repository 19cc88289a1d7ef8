"""Split an answer into stream-sized pieces that concatenate back to exactly the original."""

from __future__ import annotations

import re

__all__ = ["text_pieces"]

_WORD = re.compile(r"\s*\S+")


def text_pieces(text: str) -> list[str]:
    """Word-sized pieces (leading whitespace kept, like tokenizer pieces); ``"".join`` restores."""
    pieces = _WORD.findall(text)
    covered = sum(map(len, pieces))
    if covered < len(text):
        pieces.append(text[covered:])
    return pieces
