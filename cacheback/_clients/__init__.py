"""Internals of the drop-in clients (``cacheback.openai``, ``cacheback.anthropic``)."""

from ._calls import AsyncCachedCall, SyncCachedCall
from ._dialects import AnthropicDialect, OpenAIDialect
from ._objects import anthropic_objects, openai_objects
from ._policy import CachePolicy, CallOptions
from ._record import CacheRecord
from ._resources import AsyncCreateResource, CreateResource
from ._setup import AsyncClientLifecycle, CacheArg, ClientLifecycle, open_access
from ._streams import AsyncCachedStream, CachedStream

__all__ = [
    "AnthropicDialect",
    "AsyncCachedCall",
    "AsyncCachedStream",
    "AsyncClientLifecycle",
    "AsyncCreateResource",
    "CacheArg",
    "CachePolicy",
    "CacheRecord",
    "CachedStream",
    "CallOptions",
    "ClientLifecycle",
    "CreateResource",
    "OpenAIDialect",
    "SyncCachedCall",
    "anthropic_objects",
    "open_access",
    "openai_objects",
]
