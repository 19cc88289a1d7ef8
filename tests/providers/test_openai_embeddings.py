"""The I/O-free embeddings code: vectors decoded from and rendered to both wire formats exactly,
inputs parsed, upstream answers checked; and Azure's URLs and credentials."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cacheback._clients._embeddings import Found, merge_answer, plan_embeddings, upstream_body
from cacheback._errors import ConfigurationError
from cacheback.providers._api import ClientSettings
from cacheback.providers.azure_openai import AzureAuth, AzureChatSpec, AzureEmbeddingsSpec, azure_target
from cacheback.providers.openai_embeddings import (
    Vector,
    decode_vector,
    embedding_inputs,
    render_vector,
    response_vectors,
    sdk_floats,
)

FLOAT32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@given(st.lists(FLOAT32, min_size=1, max_size=64))
def test_both_float_styles_round_trip_bit_for_bit(values: list[float]) -> None:
    as32 = np.asarray(values, dtype="<f4")
    exact = json.loads(json.dumps(as32.astype(np.float64).tolist()))
    short = json.loads("[" + ",".join(as32.astype(str)) + "]")
    for written in (exact, short):
        vector = decode_vector(written)
        assert vector is not None and vector.data == as32.tobytes()
        again = render_vector(vector, "float")
        assert np.asarray(again, dtype=np.float64).tobytes() == \
            np.asarray(written, dtype=np.float64).tobytes()
        assert base64.b64decode(render_vector(vector, "base64")) == as32.tobytes()


def test_base64_is_little_endian_float32() -> None:
    raw = np.asarray([1.5, -0.25, 3e-8], dtype="<f4").tobytes()
    vector = decode_vector(base64.b64encode(raw).decode())
    assert vector == Vector(raw) and vector.dimensions == 3
    assert render_vector(vector, "float") == [1.5, -0.25, float(np.float32(3e-8))]


@pytest.mark.parametrize("value", [
    [0.1, 0.2, 0.30000000000000004],  # float64 precision: not float32, cannot be reproduced
    [], [float("inf")], [1e300], ["0.1"], [True], "not base64!", "AAA=", "", None,
    base64.b64encode(np.asarray([np.nan], dtype="<f4").tobytes()).decode(),
])
def test_vectors_that_cannot_be_reproduced_are_refused(value: object) -> None:
    assert decode_vector(value) is None


def test_inputs() -> None:
    assert embedding_inputs("a") == (["a"], True)
    assert embedding_inputs([1, 2]) == ([(1, 2)], True)
    assert embedding_inputs(["a", [3]]) == (["a", (3,)], False)
    for bad in ("", [], [""], [None], [[-1]], [[True]], {"a": 1}, [1.5]):
        assert embedding_inputs(bad) is None


def test_response_vectors_must_match_the_inputs_sent() -> None:
    one = {"index": 0, "embedding": [0.5]}
    assert response_vectors({"data": [one]}, 1) == [Vector(np.float32(0.5).tobytes(), "exact")]
    for data in ([], [one, one], [{"index": 1, "embedding": [0.5]}], [{"embedding": [0.5]}]):
        assert response_vectors({"data": data}, len(data) or 1) is None


def test_sdk_floats_decodes_like_the_sdk() -> None:
    raw = np.asarray([0.1, 0.2], dtype="<f4")
    body = {"data": [{"index": 0, "object": "embedding",
                      "embedding": base64.b64encode(raw.tobytes()).decode()}]}
    assert sdk_floats(body)["data"][0]["embedding"] == raw.tolist()


def test_plan_keys_scope_and_partial_merge() -> None:
    body = {"model": "m", "input": ["secret a", "b", "secret a"], "user": "u", "dimensions": 2}
    plan = plan_embeddings(body, {"query": [["api-version", "1"]]})
    assert plan.keys[0] == plan.keys[2] != plan.keys[1]
    assert "secret" not in json.dumps(plan.scope) and plan.scope["request"]
    assert "user" not in plan.scope and plan.scope["dimensions"] == 2
    assert plan_embeddings({**body, "user": "v"}, {"query": [["api-version", "1"]]}) == plan
    assert plan_embeddings({**body, "encoding_format": "int8"}).reason
    assert plan_embeddings({**body, "dimensions": 0}).reason
    assert upstream_body(plan, body, [1])["input"] == ["b"]
    assert upstream_body(plan, body, [0, 1, 2]) == body
    stored = Vector(np.asarray([1, 2], dtype="<f4").tobytes(), "exact")
    merged = merge_answer(plan, {plan.keys[0]: Found(stored, "m-1")}, [1], {
        "model": "m-2", "usage": {"prompt_tokens": 1, "total_tokens": 1},
        "data": [{"index": 0, "object": "embedding", "embedding": [3.0, 4.0]}]})
    assert merged is not None
    assert [d["embedding"] for d in merged.response["data"]] == [[1.0, 2.0], [3.0, 4.0],
                                                                 [1.0, 2.0]]
    assert merged.record.partial and merged.response["usage"]["prompt_tokens"] == 1
    assert merge_answer(plan, {}, [1], {"data": []}) is None


def test_azure_target_and_urls() -> None:
    target = azure_target(azure_endpoint="https://r.openai.azure.com/", azure_deployment="d 1",
                          api_version="v", base_url=None)
    assert target.base_url == "https://r.openai.azure.com/openai/deployments/d 1"
    settings = ClientSettings("", target.base_url)
    assert AzureEmbeddingsSpec(target).url(settings, {"model": "x"}).endswith("/d 1/embeddings")
    free = azure_target(azure_endpoint="https://r", azure_deployment=None, api_version="v",
                        base_url=None)
    spec = AzureChatSpec(free, organization="org")
    url = spec.url(ClientSettings("", free.base_url), {"model": "a/b"})
    assert url == "https://r/openai/deployments/a%2Fb/chat/completions"
    assert spec.route == {"azure_endpoint": "https://r", "deployment": None}
    assert spec.headers("") == {"OpenAI-Organization": "org"}
    with pytest.raises(ConfigurationError):
        azure_target(azure_endpoint="https://r", azure_deployment=None, api_version="v",
                     base_url="https://r/openai")


def test_azure_credentials() -> None:
    assert AzureAuth(api_key="k").headers() == {"api-key": "k"}
    assert AzureAuth(azure_ad_token="t").headers() == {"Authorization": "Bearer t"}
    assert "k" not in repr(AzureAuth(api_key="k"))

    async def token() -> str:
        return "async"

    auth = AzureAuth(azure_ad_token_provider=token)
    assert asyncio.run(auth.aheaders()) == {"Authorization": "Bearer async"}
    with pytest.raises(ConfigurationError):
        AzureAuth(azure_ad_token_provider=lambda: "").headers()
    with pytest.raises(ConfigurationError):
        AzureAuth(api_key="k", azure_ad_token="t")
    request = AzureChatSpec(azure_target(azure_endpoint="https://r", azure_deployment="d",
                                         api_version="v", base_url=None)).build_request(
        httpx.Client(), ClientSettings("", "https://r/openai/deployments/d",
                                       default_query={"api-version": "v"}), {"model": "m"})
    assert str(request.url) == "https://r/openai/deployments/d/chat/completions?api-version=v"
    assert "authorization" not in request.headers
