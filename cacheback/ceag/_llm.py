"""The LLM synthesizer: one capped call to a cheaper model through the provider layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..pricing import PRICES, Price, estimate_cost, usage_tokens
from ..providers import AnthropicMessagesSpec, AsyncClient, SyncClient, completion_text, message_text
from ._prompt import NO_ANSWER, Prompt, PromptLimits, build_prompt
from ._types import SynthesisRequest, SynthesisResult, Synthesizer

__all__ = ["LLMSynthesizer"]

_TRUNCATED = frozenset({"length", "max_tokens"})


class LLMSynthesizer(Synthesizer):
    """Asks ``model`` (e.g. ``gpt-4o-mini``, ``claude-3-5-haiku-latest``) to answer from the sources.

    ``client`` / ``async_client`` are provider clients (``OpenAIChat``, ``AnthropicMessages`` or
    their async forms) holding the endpoint and key. The answer is declined, with its cost still
    reported, when the model says it cannot answer or runs into the token cap.
    """

    name = "llm"

    def __init__(
        self,
        model: str,
        client: SyncClient | None = None,
        *,
        async_client: AsyncClient | None = None,
        limits: PromptLimits | None = None,
        prices: Mapping[str, Price] = PRICES,
    ) -> None:
        if client is None and async_client is None:
            raise ValueError("give client= or async_client=")
        self.model = model
        self.client = client
        self.async_client = async_client
        self.limits = limits or PromptLimits()
        self.prices = prices
        spec = (client or async_client).spec  # type: ignore[union-attr]
        self.api = "anthropic" if isinstance(spec, AnthropicMessagesSpec) else "openai"

    def body(self, prompt: Prompt) -> dict[str, Any]:
        """The request body of the synthesis call in the client's API dialect."""
        if self.api == "anthropic":
            return {"model": self.model, "system": prompt.system, "max_tokens": prompt.max_tokens,
                    "messages": [{"role": "user", "content": prompt.user}]}
        return {"model": self.model, "max_completion_tokens": prompt.max_tokens,
                "messages": [{"role": "system", "content": prompt.system},
                             {"role": "user", "content": prompt.user}]}

    def _result(self, request: SynthesisRequest, response: Mapping[str, Any]) -> SynthesisResult:
        if self.api == "anthropic":
            text, finish = message_text(response), response.get("stop_reason")
        else:
            choices = response.get("choices") or [{}]
            text, finish = completion_text(response), choices[0].get("finish_reason")
        usage = response.get("usage")
        input_tokens, output_tokens = usage_tokens(usage)
        declined = None
        if finish in _TRUNCATED:
            declined = "the answer hit the token cap"
        elif not text.strip() or NO_ANSWER in text:
            declined = "the model found no answer in the sources"
        return SynthesisResult(
            text=text.strip(),
            source_ids=tuple(c.entry_id for c in request.sources),
            confidence=request.sources[0].similarity if request.sources else 0.0,
            synthesizer=self.name,
            requested_model=request.requested_model,
            model=str(response.get("model") or self.model),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=estimate_cost(self.model, usage, self.prices),
            declined=declined,
        )

    def synthesize(self, request: SynthesisRequest) -> SynthesisResult | None:
        if self.client is None:
            raise RuntimeError("this LLMSynthesizer has only an async client; use asynthesize()")
        response = self.client.create(self.body(build_prompt(request, self.limits)))
        return self._result(request, response)

    async def asynthesize(self, request: SynthesisRequest) -> SynthesisResult | None:
        if self.async_client is None:
            return await super().asynthesize(request)
        response = await self.async_client.create(self.body(build_prompt(request, self.limits)))
        return self._result(request, response)
