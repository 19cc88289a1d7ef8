"""The shipped lexicon is exactly what ``training/make_lexicon.py`` makes from the tokenizer."""

from __future__ import annotations

import gzip
import sys
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))

from make_lexicon import lexicon_words  # noqa: E402


def test_shipped_lexicon_is_the_tokenizer_vocabulary_words() -> None:
    shipped = gzip.decompress(resources.files("cacheback.match").joinpath("data/lexicon.txt.gz").read_bytes())
    words = shipped.decode("utf-8").split()
    assert words == lexicon_words()
    assert "receive" in words and "recieve" not in words
    assert all(len(w) >= 5 and w.isalpha() for w in words)
