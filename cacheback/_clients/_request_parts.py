"""Request parts outside the JSON body that can change an answer, for the cache key.

The body's parameters are keyed by the dialects (every parameter but the few listed as
``unscoped``: messages, stream, user, metadata...). Outside the body, these can change what the
provider answers, so two requests that differ in them never share an entry:

* the URL query string, every parameter (Azure's ``api-version`` selects the API behaviour);
* ``OpenAI-Organization`` and ``OpenAI-Project`` (which models, fine-tunes and settings the
  account sees), ``OpenAI-Beta`` (opt-in API behaviour);
* ``anthropic-version`` and ``anthropic-beta`` (API version and beta features: output formats,
  context sizes, tools);
* ``azureml-model-deployment`` (which deployment answers on Azure ML endpoints).

Credentials are not keyed here: the proxy keeps each API key in its own namespace, and a client
has one key. docs/clients.md has the full table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from ._policy import Plan

__all__ = ["ANSWER_SHAPING_HEADERS", "client_parts", "request_parts", "with_request_parts"]

ANSWER_SHAPING_HEADERS = frozenset({
    "openai-organization", "openai-project", "openai-beta",
    "anthropic-version", "anthropic-beta", "azureml-model-deployment",
})


def request_parts(headers: Mapping[str, Any] | Iterable[tuple[str, Any]],
                  query: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The answer-shaping headers (names lower-cased, repeated ones joined) and every query
    parameter (sorted), as JSON for the scope; empty when there are none."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    shaping: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        if key in ANSWER_SHAPING_HEADERS and value is not None:
            shaping[key] = f"{shaping[key]},{value}" if key in shaping else str(value)
    if isinstance(query, str):
        params = sorted(parse_qsl(query, keep_blank_values=True))
    else:
        params = sorted((str(k), str(v)) for k, v in (query or {}).items() if v is not None)
    parts: dict[str, Any] = {}
    if shaping:
        parts["headers"] = dict(sorted(shaping.items()))
    if params:
        parts["query"] = [list(p) for p in params]
    return parts


def client_parts(provider: Any, http: Mapping[str, Any]) -> dict[str, Any]:
    """The request parts of a call a cached client makes: its spec's and default headers and
    query, this call's ``extra_headers`` / ``extra_query``, and the spec's ``route`` (the Azure
    endpoint and deployment, which are in the URL rather than the body) when it has one."""
    settings = provider.settings
    headers = {**provider.spec.headers(""), **dict(settings.default_headers),
               **dict(http.get("extra_headers") or {})}
    query = {**dict(settings.default_query), **dict(http.get("extra_query") or {})}
    parts = request_parts(headers, query)
    route = getattr(provider.spec, "route", None)
    if route:
        parts["route"] = dict(route)
    return parts


def with_request_parts(plan: Plan, parts: Mapping[str, Any]) -> Plan:
    """``plan`` whose scope also holds ``parts`` (unchanged when bypassed or when empty)."""
    if plan.query is None or not parts:
        return plan
    return dataclasses.replace(plan, scope={**plan.scope, "request": dict(parts)})
