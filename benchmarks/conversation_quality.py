"""Conversation-aware matching on fow-cache/conversations_dev.jsonl: should-hit recall and trap
false-hit rate per subtype, for the default (history in the scope) and the conversation-aware policy.

Each pair is a cache of its own: chat ``a`` is stored, chat ``b`` asks (and the reverse, since
either side may come first). "context" counts the context check alone; "end to end" also needs
the cache's matcher to accept the last user message. The held-out tables tune the two floors (and
the standalone length) on one half of the pairs and score the other half (2-fold), and on all
pairs but one, scoring that one (leave one pair out).

    python benchmarks/conversation_quality.py
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cacheback import SemanticCache
from cacheback.conversation import ContextRules, ConversationKey, ConversationPolicy
from cacheback.embed import Embedder, default_embedder

REPO = Path(__file__).resolve().parents[1]
CACHE_DIR = REPO / "benchmarks" / ".cache"
SHOULD_HIT = ("same_context_reworded", "irrelevant_history", "same_context_extra_chatter")
TRAPS = ("context_swap", "detail_swap", "intent_flip")
REPLY_FLOORS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
FACT_FLOORS = (0.0, 0.3, 0.4, 0.5, 0.6)
#: The settings tuned on the other pairs: the floors alone under the default (no length rule:
#: only a name makes a question standalone, the strictest setting, chosen before looking at any
#: pair), the floors under the old 10-word rule, and the floors with the length tuned too.
GRIDS: tuple[tuple[str, tuple[int | None, ...]], ...] = (
    ("no length rule", (None,)), ("length 10", (10,)), ("length tuned", (6, 8, 10, 12, 14)))


def shared_data_dir() -> Path:
    """``$CACHEBACK_SHARED_DATA`` or ``../shared/data`` next to the repository."""
    env = os.environ.get("CACHEBACK_SHARED_DATA")
    return Path(env) if env else (REPO / ".." / "shared" / "data").resolve()


class DiskCachedEmbedder(Embedder):
    """The default embedder with every vector kept under ``benchmarks/.cache`` between runs."""

    def __init__(self, tag: str) -> None:
        self._inner = default_embedder()
        self.name, self.dim = self._inner.name, self._inner.dim
        self._path = CACHE_DIR / f"vectors-{tag}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        if self._path.exists():
            with np.load(self._path) as saved:
                self._vectors = dict(zip(saved["keys"].tolist(), saved["vectors"]))
        self._dirty = False

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if self._key(t) not in self._vectors))
        if missing:
            for text, vector in zip(missing, self._inner.embed_batch(missing)):
                self._vectors[self._key(text)] = vector
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[self._key(t)] for t in texts])

    def save(self) -> None:
        """Write new vectors to disk (atomically)."""
        if not self._dirty:
            return
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp.npz")
        keys = list(self._vectors)
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self._vectors[k] for k in keys]))
        os.replace(tmp, self._path)
        self._dirty = False


def load_pairs(data: Path | None = None) -> list[dict[str, Any]]:
    """The labelled conversation pairs."""
    path = (data or shared_data_dir()) / "fow-cache" / "conversations_dev.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


Direction = tuple[dict[str, Any], list[dict[str, str]], list[dict[str, str]]]


def directions(pairs: Iterable[dict[str, Any]]) -> list[Direction]:
    """(pair, stored chat, asking chat) both ways round."""
    return [(p, p["a"], p["b"]) for p in pairs] + [(p, p["b"], p["a"]) for p in pairs]


Chat = list[dict[str, str]]


def context_accepts(policy: ConversationPolicy, stored: Chat, asking: Chat) -> bool:
    """The context check alone: would an entry made in ``stored`` be allowed for ``asking``?"""
    first, second = policy.key(stored), policy.key(asking)
    if first is None or second is None or first.scope_extra != second.scope_extra:
        return False
    from cacheback import Candidate

    entry = Candidate(entry_id=1, query=first.query, response="", similarity=1.0, metadata=first.metadata())
    return second.accepts(entry)


def end_to_end_hit(cache: SemanticCache, key_of: Callable[[list[dict[str, str]]], ConversationKey | None],
                   stored: list[dict[str, str]], asking: list[dict[str, str]], namespace: str) -> bool:
    """Store ``stored``'s question through the policy, then ask ``asking``'s: served or not."""
    first, second = key_of(stored), key_of(asking)
    if first is None or second is None:
        return False
    cache.put(first.query, "the stored answer", namespace=namespace, scope=first.scope_extra,
              metadata=first.metadata())
    hit = cache.get(second.query, namespace=namespace, scope=second.scope_extra, accept=second.accepts)
    return hit is not None


def default_policy_hit(cache: SemanticCache, stored: list[dict[str, str]], asking: list[dict[str, str]],
                       namespace: str) -> bool:
    """The clients' default: every earlier turn is in the scope."""
    def scope(chat: list[dict[str, str]]) -> list[list[str]]:
        return [[m["role"], m["content"]] for m in chat[:-1]]

    cache.put(stored[-1]["content"], "the stored answer", namespace=namespace, scope=scope(stored))
    return cache.get(asking[-1]["content"], namespace=namespace, scope=scope(asking)) is not None


def rates(outcomes: Iterable[tuple[str, bool]]) -> dict[str, tuple[int, int]]:
    """(hits, total) per subtype."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for subtype, hit in outcomes:
        table[subtype][0] += int(hit)
        table[subtype][1] += 1
    return {k: (v[0], v[1]) for k, v in table.items()}


def print_table(title: str, columns: dict[str, dict[str, tuple[int, int]]]) -> None:
    """Rows are subtypes, columns are evaluation modes; cells are hits/total and the rate."""
    print(f"\n{title}")
    names = list(columns)
    print(f"{'subtype':30s} {'expect':7s} " + " ".join(f"{n:>20s}" for n in names))
    for group, expect in ((SHOULD_HIT, "hit"), (TRAPS, "miss")):
        for subtype in group:
            cells = []
            for name in names:
                hits, total = columns[name].get(subtype, (0, 0))
                cells.append(f"{hits:3d}/{total:<3d} {hits / total if total else 0:7.1%}")
            print(f"{subtype:30s} {expect:7s} " + " ".join(f"{c:>20s}" for c in cells))
        label = "should-hit recall" if expect == "hit" else "trap false-hit rate"
        cells = []
        for name in names:
            hits = sum(columns[name].get(s, (0, 0))[0] for s in group)
            total = sum(columns[name].get(s, (0, 0))[1] for s in group)
            cells.append(f"{hits:3d}/{total:<3d} {hits / total if total else 0:7.1%}")
        print(f"{label:30s} {'':7s} " + " ".join(f"{c:>20s}" for c in cells))


def fold_of(pair: dict[str, Any]) -> int:
    """A stable half of the data for 2-fold tuning."""
    return int(hashlib.sha256(pair["id"].encode("utf-8")).hexdigest(), 16) % 2


def _strictness(min_words: int | None) -> float:
    """Longer standalone lengths are stricter; no length rule is the strictest."""
    return math.inf if min_words is None else float(min_words)


def tune(embedder: Embedder, pairs: list[dict[str, Any]], min_words_grid: Sequence[int | None]
         ) -> tuple[float, float, int | None]:
    """The setting with the best should-hit recall among those with no trap false hit on ``pairs``
    (context check alone, both directions); ties go to the strictest setting."""
    best: tuple[tuple[int, float, float, float], tuple[float, float, int | None]] | None = None
    for min_words in min_words_grid:
        for reply_floor, fact_floor in itertools.product(REPLY_FLOORS, FACT_FLOORS):
            policy = ConversationPolicy(embedder, rules=ContextRules(reply_floor, fact_floor),
                                        min_standalone_words=min_words)
            outcome = [(p["subtype"], context_accepts(policy, s, a)) for p, s, a in directions(pairs)]
            if any(hit for subtype, hit in outcome if subtype in TRAPS):
                continue
            recall = sum(hit for subtype, hit in outcome if subtype in SHOULD_HIT)
            score = (recall, reply_floor, fact_floor, _strictness(min_words))
            if best is None or score > best[0]:
                best = (score, (reply_floor, fact_floor, min_words))
    assert best is not None, "no setting keeps the traps out"
    return best[1]


def leave_one_out(embedder: Embedder, pairs: list[dict[str, Any]], min_words_grid: Sequence[int | None]
                  ) -> tuple[list[tuple[str, bool]], list[tuple[float, float, int | None]]]:
    """Leave-one-pair-out: for each pair, the setting :func:`tune` would choose on the other pairs,
    scored on the held-out pair (both directions, context check alone). Every setting's outcome
    is computed once, so this costs one grid pass."""
    settings = [(r, f, m) for m in min_words_grid for r, f in itertools.product(REPLY_FLOORS, FACT_FLOORS)]
    runs = directions(pairs)
    outcome = np.zeros((len(settings), len(runs)), dtype=bool)
    for n, (reply_floor, fact_floor, min_words) in enumerate(settings):
        policy = ConversationPolicy(embedder, rules=ContextRules(reply_floor, fact_floor),
                                    min_standalone_words=min_words)
        outcome[n] = [context_accepts(policy, s, a) for _, s, a in runs]
    trap = np.array([p["subtype"] in TRAPS for p, _, _ in runs])
    should = np.array([p["subtype"] in SHOULD_HIT for p, _, _ in runs])
    pair_of = np.array([p["id"] for p, _, _ in runs])
    result: list[tuple[str, bool]] = []
    chosen: list[tuple[float, float, int | None]] = []
    for pair in pairs:
        held = pair_of == pair["id"]
        traps_ok = ~(outcome[:, ~held] & trap[~held]).any(axis=1)
        recall = (outcome[:, ~held] & should[~held]).sum(axis=1)
        ranked = [((int(recall[n]), *settings[n][:2], _strictness(settings[n][2])), n)
                  for n in np.flatnonzero(traps_ok)]
        best = max(ranked)[1]
        chosen.append(settings[best])
        result += [(pair["subtype"], bool(hit)) for hit in outcome[best, held]]
    return result, chosen


def main() -> int:
    try:
        pairs = load_pairs()
    except FileNotFoundError as exc:
        print(f"shared data not found: {exc}", file=sys.stderr)
        return 1
    embedder = DiskCachedEmbedder("conversations")
    policy = ConversationPolicy(embedder)
    both = directions(pairs)
    default_cache = SemanticCache(":memory:", embedder=embedder)
    aware_cache = SemanticCache(":memory:", embedder=embedder)
    forward, backward = both[: len(pairs)], both[len(pairs):]

    def context_only(runs: list[Direction]) -> dict[str, tuple[int, int]]:
        return rates((p["subtype"], context_accepts(policy, s, a)) for p, s, a in runs)

    columns = {
        "history scope (a->b)": rates((p["subtype"], default_policy_hit(default_cache, s, a, f"d{i}"))
                                for i, (p, s, a) in enumerate(forward)),
        "ctx check (a->b)": context_only(forward),
        "ctx check (b->a)": context_only(backward),
        "end to end (both)": rates((p["subtype"], end_to_end_hit(aware_cache, policy.key, s, a, f"c{i}"))
                                   for i, (p, s, a) in enumerate(both)),
    }
    rules = policy.rules
    print(f"conversation pairs: {len(pairs)}; rules reply_floor={rules.reply_floor} "
          f"fact_floor={rules.fact_floor} min_standalone_words={policy.min_standalone_words}; "
          f"matcher {type(aware_cache.matcher).__name__}")
    print_table("per subtype (hits/total, rate)", columns)

    held_out: dict[str, list[tuple[str, bool]]] = {}
    for label, grid in GRIDS[:2]:
        held_out[label] = []
        for fold in (0, 1):
            train = [p for p in pairs if fold_of(p) != fold]
            test = [p for p in pairs if fold_of(p) == fold]
            reply_floor, fact_floor, min_words = tune(embedder, train, grid)
            print(f"{label}, fold {fold}: tuned on {len(train)} pairs -> reply_floor={reply_floor} "
                  f"fact_floor={fact_floor} min_standalone_words={min_words}")
            tuned = ConversationPolicy(embedder, rules=ContextRules(reply_floor, fact_floor),
                                       min_standalone_words=min_words)
            held_out[label] += [(p["subtype"], context_accepts(tuned, s, a)) for p, s, a in directions(test)]
    print_table("context check, 2-fold held out (tuned on the other half, both directions)",
                {label: rates(outcome) for label, outcome in held_out.items()})
    loo: dict[str, list[tuple[str, bool]]] = {}
    for label, grid in GRIDS:
        loo[label], chosen = leave_one_out(embedder, pairs, grid)
        kinds = sorted(set(chosen))
        print(f"leave-one-out, {label}: {len(kinds)} distinct settings chosen, e.g. {kinds[:3]}")
    print_table("context check, leave-one-pair-out (tuned on the other 79 pairs, both directions)",
                {label: rates(outcome) for label, outcome in loo.items()})
    sizes = [len(json.dumps(k.metadata())) for k in map(policy.key, (p["a"] for p in pairs)) if k]
    print(f"\nstored context size: median {int(np.median(sizes))} B, max {max(sizes)} B per entry")
    embedder.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
