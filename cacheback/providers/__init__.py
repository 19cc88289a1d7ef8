"""Raw-httpx clients for the OpenAI Chat Completions, OpenAI Responses and Anthropic Messages APIs.

No SDK needed: requests are built, responses and SSE streams parsed, and streams assembled into
full responses (or full responses replayed as streams) by I/O-free code shared by the sync and
async clients. Retries follow the official SDKs; failures raise the typed errors below.
"""

from ._api import DEFAULT_TIMEOUT, ApiSpec, ClientSettings, StreamAccumulator
from ._client import AsyncClient, SyncClient
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from ._retry import RetryPolicy
from ._sse import ServerSentEvent, SSEDecoder, encode_event
from ._streams import AsyncEventStream, EventStream
from .anthropic_messages import (
    AnthropicMessages,
    AnthropicMessagesSpec,
    AsyncAnthropicMessages,
    message_text,
)
from .openai_chat import AsyncOpenAIChat, OpenAIChat, OpenAIChatSpec, completion_text
from .openai_responses import OpenAIResponsesSpec, response_text

__all__ = [
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AnthropicMessages",
    "AnthropicMessagesSpec",
    "ApiSpec",
    "AsyncAnthropicMessages",
    "AsyncClient",
    "AsyncEventStream",
    "AsyncOpenAIChat",
    "AuthenticationError",
    "BadRequestError",
    "ClientSettings",
    "ConflictError",
    "EventStream",
    "InternalServerError",
    "NotFoundError",
    "OpenAIChat",
    "OpenAIChatSpec",
    "OpenAIResponsesSpec",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamAccumulator",
    "SyncClient",
    "UnprocessableEntityError",
    "completion_text",
    "encode_event",
    "message_text",
    "response_text",
]
