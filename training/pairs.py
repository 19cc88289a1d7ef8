"""Pair tokenisation with cacheback's own tokenizer (the all-MiniLM-L6-v2 wordpiece vocabulary)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

__all__ = ["PairTokenizer", "TOKENIZER_PATH"]

TOKENIZER_PATH = Path(__file__).resolve().parents[1] / "cacheback" / "embed" / "data" / "tokenizer.json"


class PairTokenizer:
    """``[CLS] a [SEP] b [SEP]`` with token types 0 then 1, longest-first truncation to
    ``max_length``, padded to the longest pair of each batch."""

    def __init__(self, max_length: int, path: Path = TOKENIZER_PATH) -> None:
        self.max_length = max_length
        self._tok = Tokenizer.from_file(str(path))
        self._tok.enable_truncation(max_length=max_length, strategy="longest_first")
        self._tok.no_padding()

    def __call__(self, a: list[str], b: list[str]) -> dict[str, np.ndarray]:
        encs = self._tok.encode_batch(list(zip(a, b)))
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for i, e in enumerate(encs):
            n = len(e.ids)
            ids[i, :n] = e.ids
            mask[i, :n] = 1
            types[i, :n] = e.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
