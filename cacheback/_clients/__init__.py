"""Internals of the drop-in clients (``cacheback.openai``, ``cacheback.anthropic``)."""

from ._access import CacheAccess
from ._assembly import StreamAssembly
from ._calls import AsyncCachedCall, SyncCachedCall
from ._dialects import AnthropicDialect, Dialect, OpenAIDialect
from ._objects import anthropic_objects, openai_objects
from ._policy import CachePolicy, CallOptions, Plan
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
    "CacheAccess",
    "CacheArg",
    "CachePolicy",
    "CacheRecord",
    "CachedStream",
    "CallOptions",
    "ClientLifecycle",
    "CreateResource",
    "Dialect",
    "OpenAIDialect",
    "Plan",
    "StreamAssembly",
    "SyncCachedCall",
    "anthropic_objects",
    "open_access",
    "openai_objects",
]
