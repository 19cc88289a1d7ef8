"""Write ``cacheback/match/data/lexicon.txt.gz``: the general English lexicon the match features use.

The words are the whole-word entries of the embedder's WordPiece vocabulary
(``cacheback/embed/data/tokenizer.json``, BERT uncased via all-MiniLM-L6-v2, Apache-2.0) that are
alphabetic and at least 5 letters long (shorter words are never judged as misspellings). Nothing
is read off a data set. The output is deterministic (sorted, gzip without a timestamp):

    python training/make_lexicon.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKENIZER = ROOT / "cacheback" / "embed" / "data" / "tokenizer.json"
OUT = ROOT / "cacheback" / "match" / "data" / "lexicon.txt.gz"
MIN_LETTERS = 5


def lexicon_words(tokenizer: Path = TOKENIZER) -> list[str]:
    """The vocabulary's whole words (no ``##`` pieces), alphabetic, ``MIN_LETTERS`` or longer."""
    vocab = json.loads(tokenizer.read_text(encoding="utf-8"))["model"]["vocab"]
    return sorted(t for t in vocab if t.isalpha() and len(t) >= MIN_LETTERS and not t.startswith("##"))


def main() -> None:
    words = lexicon_words()
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(("\n".join(words) + "\n").encode("utf-8"))
    print(f"wrote {len(words)} words to {OUT}")


if __name__ == "__main__":
    main()
