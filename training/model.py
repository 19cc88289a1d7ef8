"""The verifier network: the first ``layers`` transformer blocks of all-MiniLM-L6-v2 and one logit.

A cross-encoder reads ``[CLS] query [SEP] cached_query [SEP]`` at once, so every token of one
question attends to every token of the other; a masked mean of the last hidden states feeds a
single linear unit whose output is a raw logit (higher = the same question). Mean pooling is what
all-MiniLM-L6-v2 was trained with, so the pooled vector is meaningful before any fine-tuning.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertModel

__all__ = ["PairScorer", "load_base", "export_onnx"]

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]


class PairScorer(torch.nn.Module):
    """Truncated MiniLM encoder + masked mean pooling + a linear head giving one logit per pair."""

    def __init__(self, bert: BertModel) -> None:
        super().__init__()
        self.bert = bert
        self.dropout = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(bert.config.hidden_size, 1)
        torch.nn.init.normal_(self.head.weight, std=0.02)
        torch.nn.init.zeros_(self.head.bias)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


def load_base(model_dir: Path, layers: int) -> PairScorer:
    """A :class:`PairScorer` whose encoder is the first ``layers`` blocks of the fp32 checkpoint
    in ``model_dir`` (``config.json`` + ``model.safetensors``); the head starts near zero."""
    cfg = json.loads((model_dir / "config.json").read_text("utf-8"))
    cfg["num_hidden_layers"] = layers
    config = BertConfig(**{k: v for k, v in cfg.items() if not k.startswith("_")})
    config._attn_implementation = "eager"
    bert = BertModel(config, add_pooling_layer=False)
    state = load_file(str(model_dir / "model.safetensors"))
    state = {k.removeprefix("bert."): v for k, v in state.items()}
    keep = {k: v for k, v in state.items() if not k.startswith("encoder.layer.")
            or int(k.split(".")[2]) < layers}
    keep = {k: v for k, v in keep.items() if not k.startswith("pooler.")}
    missing, unexpected = bert.load_state_dict(keep, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    unexpected = [u for u in unexpected if not u.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"checkpoint mismatch: missing={missing} unexpected={unexpected}")
    return PairScorer(bert)


def export_onnx(model: PairScorer, path: Path, opset: int = 17) -> None:
    """fp32 ONNX with dynamic batch and sequence axes: int64 ``input_ids``, ``attention_mask``,
    ``token_type_ids`` in, ``logits`` (batch, 1) float32 out."""
    model = model.eval()
    example = (
        torch.tensor([[101, 2054, 2003, 102, 2054, 2003, 102]], dtype=torch.long),
        torch.ones(1, 7, dtype=torch.long),
        torch.tensor([[0, 0, 0, 0, 1, 1, 1]], dtype=torch.long),
    )
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes["logits"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(
            model, example, str(path), input_names=INPUT_NAMES, output_names=["logits"],
            dynamic_axes=axes, opset_version=opset, dynamo=False,
        )
