"""Hit latency through the drop-in clients at 10k entries, and what the client adds on a miss.

The cache holds BANKING77 train (about 10k real customer questions with real MiniLM vectors and
a stored ``chat.completion`` payload each), in the scope a ``CachedOpenAI`` request uses. Exact
hits ask stored questions verbatim; semantic lookups ask reworded ones ("Hi, ..."), of which the
matcher accepts some. Every call goes through ``client.chat.completions.create`` and returns an
``openai`` ``ChatCompletion``; the ``responses`` rows ask the same through
``client.responses.create`` (an ``openai`` ``Response``) against a second cache filled the same
way in the Responses scope. Misses go to the fake upstream on 127.0.0.1. The embeddings rows
call ``client.embeddings.create`` (1536 dimensions, one input and batches of 16) on the same
cache. Prints one table.

    python benchmarks/client_bench.py [--lookups 500] [--no-embeddings]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (  # noqa: E402
    banking77_texts,
    embed_cached,
    markdown_table,
    percentiles_ms,
    shared_data_dir,
    timed_calls,
)

from cacheback import SemanticCache  # noqa: E402
from cacheback._clients import CachePolicy, CallOptions, Dialect, OpenAIDialect  # noqa: E402
from cacheback._clients._access import CacheAccess  # noqa: E402
from cacheback._clients._responses import OpenAIResponsesDialect  # noqa: E402
from cacheback._normalize import normalise_query, query_hash, scope_key  # noqa: E402
from cacheback.embed import default_embedder  # noqa: E402
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI  # noqa: E402
from cacheback.providers import OpenAIChat  # noqa: E402
from cacheback.providers.openai_embeddings import OpenAIEmbeddingsSpec  # noqa: E402
from cacheback.storage import NewEntry, SQLiteStorage  # noqa: E402
from cacheback.testing import FakeUpstream  # noqa: E402

MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"  # 1536 dimensions from the fake upstream
BATCH = 16
SYSTEM = "You are a helpful banking assistant."


def _request(question: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "temperature": 0, **extra,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": question}]}


def _responses_request(question: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "temperature": 0, **extra, "instructions": SYSTEM, "input": question}


def _answer(intent: str) -> str:
    return f"Here is what to do about {intent.replace('_', ' ')}: open the app, go to Help, " \
           "and follow the steps shown. Contact support if the problem persists."


def _responses_payload(serial: int, intent: str) -> str:
    response = OpenAIResponsesDialect().synthesize(_answer(intent), _responses_request("x"), serial)
    response["usage"] = {"input_tokens": 40, "output_tokens": 30, "total_tokens": 70,
                         "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                         "output_tokens_details": {"reasoning_tokens": 0}}
    return json.dumps(response)


def _payload(serial: int, intent: str) -> str:
    answer = _answer(intent)
    return json.dumps({
        "id": f"chatcmpl-bench{serial}", "object": "chat.completion", "created": 1_700_000_000,
        "model": MODEL, "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": answer, "refusal": None}}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 30, "total_tokens": 70}})


def _scope(dialect: Dialect) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scope a client request of the benchmark uses under ``dialect`` and the default
    policy (conversation-aware keys included), and the metadata its entries carry."""
    request = _request("x") if isinstance(dialect, OpenAIDialect) else _responses_request("x")
    with SemanticCache(":memory:", embedder=None) as cache:
        plan = CacheAccess(cache, dialect, CachePolicy(), "default", None).prepare(
            request, CallOptions())
    return plan.scope, plan.conversation.metadata() if plan.conversation else {}


def _fill(path: Path, texts: list[str], intents: list[str], dialect: Dialect | None = None
          ) -> None:
    """Write the entries straight through the storage layer, in the clients' scope."""
    dialect = dialect or OpenAIDialect()
    scope, metadata = _scope(dialect)
    key = scope_key(scope)
    payload = _payload if isinstance(dialect, OpenAIDialect) else _responses_payload
    vectors = embed_cached(texts, "core-banking77")
    name = default_embedder().name
    storage = SQLiteStorage(path)
    now = time.time()
    with storage.transaction():
        for serial, (text, intent, vector) in enumerate(zip(texts, intents, vectors)):
            norm = normalise_query(text)
            storage.put(NewEntry(
                namespace="default", scope_key=key, query_hash=query_hash(norm), norm_query=norm,
                query=text, response=f"answer about {intent}", payload=payload(serial, intent),
                embedding=vector, embed_model=name, created=now, expires=None,
                metadata={"exact_only": False, **metadata}))
    storage.close()


def _unrelated_questions() -> list[str]:
    """One CLINC150 utterance per intent outside banking: questions the cache has not seen."""
    data = shared_data_dir() / "clinc150"
    domains = json.loads((data / "domains.json").read_text(encoding="utf-8"))
    skip = {i for d in ("banking", "credit_cards") for i in domains.get(d, ())}
    rows = json.loads((data / "clinc150_dev.json").read_text(encoding="utf-8"))["train"]
    first: dict[str, str] = {}
    for text, intent in rows:
        if intent not in skip and intent != "oos":
            first.setdefault(intent, text)
    return list(first.values())


def _row(name: str, seconds: list[float], tiers: list[str], keep: str | None) -> list[object]:
    kept = [s for s, t in zip(seconds, tiers) if keep is None or t == keep]
    p50, p99, mean = percentiles_ms(kept)
    outcome = ", ".join(f"{tiers.count(t)} {t}" for t in sorted(set(tiers)))
    return [name, len(kept), outcome, p50, p99, mean]


async def _async_calls(client: AsyncCachedOpenAI, questions: list[str]
                       ) -> tuple[list[float], list[str]]:
    seconds, tiers = [], []
    for question in questions:
        start = time.perf_counter()
        result = await client.chat.completions.create(**_request(question))
        seconds.append(time.perf_counter() - start)
        tiers.append(result.cacheback.tier)
    return seconds, tiers


def _embedding_rows(client: CachedOpenAI, raw: OpenAIChat, texts: list[str], n: int
                    ) -> list[list[object]]:
    """``client.embeddings.create`` (SDK default format: base64 on the wire, floats back) for
    one input and batches of 16: all cached, half cached, none cached; then the same batch
    straight to the fake upstream."""
    create = client.embeddings.create
    pool = iter(f"{t} (document {i})" for i, t in enumerate(texts * 4))

    def embed(inputs: list[str]) -> str:
        record = create(model=EMBEDDING_MODEL, input=inputs).cacheback
        return "partial" if record.partial else record.tier

    singles = [[next(pool)] for _ in range(n)]
    batches = [[next(pool) for _ in range(BATCH)] for _ in range(n // 4)]
    for inputs in singles + batches:
        embed(inputs)
    rows = []
    for name, calls in (("embeddings exact hit, 1 input", singles),
                        (f"embeddings exact hit, batch of {BATCH}", batches)):
        seconds, tiers = timed_calls(calls, embed)
        rows.append(_row(name, seconds, tiers, "exact"))
    halves = [b[: BATCH // 2] + [next(pool) for _ in range(BATCH // 2)] for b in batches]
    seconds, tiers = timed_calls(halves, embed)
    rows.append(_row(f"embeddings partial, {BATCH // 2} of {BATCH} cached", seconds, tiers,
                     "partial"))
    fresh = [[next(pool) for _ in range(BATCH)] for _ in range(n // 4)]
    seconds, tiers = timed_calls(fresh, embed)
    rows.append(_row(f"embeddings miss, {BATCH} inputs (lookup + upstream + store)", seconds,
                     tiers, "miss"))
    direct = raw.sibling(OpenAIEmbeddingsSpec())
    new = [[next(pool) for _ in range(BATCH)] for _ in range(n // 4)]
    seconds, tiers = timed_calls(new, lambda inputs: direct.create(
        {"model": EMBEDDING_MODEL, "input": inputs, "encoding_format": "base64"}) and "upstream")
    rows.append(_row(f"same {BATCH}-input upstream call without the cache", seconds, tiers, None))
    return rows


def _askers(create: Callable[..., Any], request: Callable[..., dict[str, Any]]
            ) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """A question asked through ``create`` (the tier that answered it), plainly and streamed
    to the end."""

    def ask(question: str) -> str:
        return str(create(**request(question)).cacheback.tier)

    def replay(question: str) -> str:
        stream = create(**request(question, stream=True))
        for _ in stream:
            pass
        return str(stream.cacheback.tier)

    return ask, replay


def _responses_rows(path: Path, texts: list[str], intents: list[str], exact: list[str],
                    reworded: list[str], options: dict[str, Any]) -> list[list[object]]:
    """The hit rows through ``client.responses.create`` (same entries, Responses scope)."""
    _fill(path, texts, intents, OpenAIResponsesDialect())
    rows = []
    with SemanticCache(path) as cache, CachedOpenAI(**options, cache=cache) as client:
        ask, replay = _askers(client.responses.create, _responses_request)

        for question in exact[:20] + reworded[:20]:
            ask(question)
        seconds, tiers = timed_calls(exact, ask)
        rows.append(_row("responses: exact hit", seconds, tiers, "exact"))
        seconds, tiers = timed_calls(reworded, ask)
        rows.append(_row("responses: semantic hit", seconds, tiers, "semantic"))
        seconds, tiers = timed_calls(exact, replay)
        rows.append(_row("responses: exact hit, stream=True (full replay)", seconds, tiers,
                         "exact"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--no-embeddings", action="store_true",
                        help="leave out the embeddings rows")
    args = parser.parse_args()
    rows = banking77_texts()
    texts, intents = [t for t, _ in rows], [i for _, i in rows]
    rng = random.Random(7)
    exact = rng.sample(texts, args.lookups)
    reworded = [f"Hi, {t[0].lower()}{t[1:]}" for t in rng.sample(texts, args.lookups)]
    fresh = _unrelated_questions()
    table = []
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as upstream:
        path = Path(tmp) / "bench.db"
        _fill(path, texts, intents)
        options = {"api_key": "bench", "base_url": upstream.openai_base_url}
        cache = SemanticCache(path)
        client = CachedOpenAI(**options, cache=cache)
        ask, replay = _askers(client.chat.completions.create, _request)

        for question in exact[:20] + reworded[:20]:
            ask(question)
        scope, _ = _scope(OpenAIDialect())

        def core_get(question: str) -> str:
            hit = cache.get(question, scope=scope)
            return hit.tier if hit is not None else "miss"

        seconds, tiers = timed_calls(exact, core_get)
        table.append(_row("SemanticCache.get alone, exact", seconds, tiers, "exact"))
        seconds, tiers = timed_calls(reworded, core_get)
        table.append(_row("SemanticCache.get alone, semantic", seconds, tiers, "semantic"))
        seconds, tiers = timed_calls(exact, ask)
        table.append(_row("exact hit", seconds, tiers, "exact"))
        seconds, tiers = timed_calls(reworded, ask)
        table.append(_row("semantic hit", seconds, tiers, "semantic"))
        table.append(_row("semantic lookup, all outcomes", seconds, tiers, None))
        seconds, tiers = timed_calls(exact, replay)
        table.append(_row("exact hit, stream=True (full replay)", seconds, tiers, "exact"))
        async_client = AsyncCachedOpenAI(**options, cache=cache)

        async def both() -> list[tuple[list[float], list[str]]]:
            # one event loop: a question the PII guard bypasses opens upstream connections
            return [await _async_calls(async_client, exact),
                    await _async_calls(async_client, reworded)]

        (seconds, tiers), (sem_seconds, sem_tiers) = asyncio.run(both())
        table.append(_row("async exact hit", seconds, tiers, "exact"))
        table.append(_row("async semantic hit", sem_seconds, sem_tiers, "semantic"))
        table += _responses_rows(Path(tmp) / "responses.db", texts, intents, exact, reworded,
                                 options)
        seconds, tiers = timed_calls(fresh, ask)
        table.append(_row("miss (lookup + fake upstream + store)", seconds, tiers, "miss"))
        raw = OpenAIChat(**options)
        raw_seconds = []
        for question in fresh:
            start = time.perf_counter()
            raw.create(_request(question))
            raw_seconds.append(time.perf_counter() - start)
        table.append(_row("same upstream call without the cache", raw_seconds,
                          ["upstream"] * len(raw_seconds), None))
        if not args.no_embeddings:
            table.extend(_embedding_rows(client, raw, texts, args.lookups))
        client.close()
        raw.close()
        cache.close()
    print(f"## Client hit latency at {len(texts):,} entries (BANKING77, MiniLM, openai types)\n")
    print(markdown_table(["call", "n", "outcomes", "p50 ms", "p99 ms", "mean ms"], table))
    print(f"\nload average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
