"""Response objects: the official SDK's own types when it is installed, light objects otherwise."""

from __future__ import annotations

import functools
import importlib
import logging
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..providers import response_text
from ._light import LightObject
from ._record import CacheRecord

__all__ = ["ObjectFactory", "anthropic_objects", "attach_record", "openai_objects",
           "openai_response_objects"]

log = logging.getLogger("cacheback.clients")

_ANTHROPIC_EVENTS = {
    "message_start": "RawMessageStartEvent", "message_delta": "RawMessageDeltaEvent",
    "message_stop": "RawMessageStopEvent", "content_block_start": "RawContentBlockStartEvent",
    "content_block_delta": "RawContentBlockDeltaEvent",
    "content_block_stop": "RawContentBlockStopEvent",
}


@dataclass(frozen=True)
class ObjectFactory:
    """Turns response JSON and stream-event JSON into the objects callers receive."""

    response: Callable[[dict[str, Any]], Any]
    event: Callable[[dict[str, Any]], Any]
    sdk: bool


def _validator(model: Any) -> Callable[[dict[str, Any]], Any]:
    """``model.model_validate``; data the installed SDK rejects is still returned, unvalidated."""

    def build(data: dict[str, Any]) -> Any:
        try:
            return model.model_validate(data)
        except ValueError as exc:
            log.debug("response does not validate as %s (%s); returning it unvalidated",
                      model.__name__, exc)
            return model.model_construct(**data)

    return build


def _light(kind: str) -> Callable[[dict[str, Any]], Any]:
    return lambda data: LightObject(data, kind)


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def openai_objects(use_sdk: bool = True) -> ObjectFactory:
    """``ChatCompletion`` / ``ChatCompletionChunk`` from ``openai`` when importable."""
    types = _import("openai.types.chat") if use_sdk else None
    if types is None:
        return ObjectFactory(_light("ChatCompletion"), _light("ChatCompletionChunk"), sdk=False)
    return ObjectFactory(_validator(types.ChatCompletion), _validator(types.ChatCompletionChunk),
                         sdk=True)


class _LightResponse(LightObject):
    """A Responses ``response`` without the SDK, with the SDK's ``output_text``."""

    @property
    def output_text(self) -> str:
        """Every ``output_text`` part of the output messages, joined."""
        return response_text(self.model_dump())


def _union_members(union: Any) -> list[Any]:
    """The classes of a (possibly ``Annotated``, possibly nested) ``Union``."""
    args = typing.get_args(union)
    if typing.get_origin(union) is typing.Annotated:
        return _union_members(args[0])
    members: list[Any] = []
    for arg in args:
        members += _union_members(arg) if typing.get_args(arg) else [arg]
    return members


@functools.cache
def _response_events(types: Any) -> dict[str, Callable[[dict[str, Any]], Any]]:
    """Each Responses stream event type's builder, by its ``type`` value."""
    builders: dict[str, Callable[[dict[str, Any]], Any]] = {}
    for member in _union_members(types.ResponseStreamEvent):
        field = getattr(member, "model_fields", {}).get("type")
        for value in typing.get_args(field.annotation) if field is not None else ():
            builders[value] = _validator(member)
    return builders


def openai_response_objects(use_sdk: bool = True) -> ObjectFactory:
    """``Response`` and the ``ResponseStreamEvent`` types from ``openai`` when importable."""
    types = _import("openai.types.responses") if use_sdk else None
    if types is None:
        return ObjectFactory(lambda data: _LightResponse(data, "Response"),
                             lambda data: LightObject(data, "ResponseStreamEvent"), sdk=False)
    events = _response_events(types)

    def event(data: dict[str, Any]) -> Any:
        build = events.get(data.get("type", ""))
        return build(data) if build is not None else LightObject(data)

    return ObjectFactory(_validator(types.Response), event, sdk=True)


def anthropic_objects(use_sdk: bool = True) -> ObjectFactory:
    """``Message`` and the ``Raw*Event`` stream types from ``anthropic`` when importable."""
    types = _import("anthropic.types") if use_sdk else None
    if types is None:
        return ObjectFactory(_light("Message"),
                             lambda data: LightObject(data, _ANTHROPIC_EVENTS.get(data["type"], "")),
                             sdk=False)
    events = {name: _validator(getattr(types, cls)) for name, cls in _ANTHROPIC_EVENTS.items()}

    def event(data: dict[str, Any]) -> Any:
        build = events.get(data.get("type", ""))
        return build(data) if build is not None else LightObject(data)

    return ObjectFactory(_validator(types.Message), event, sdk=True)


def attach_record(obj: Any, record: CacheRecord) -> Any:
    """Set ``.cacheback`` and ``.cacheback_hit`` without making them model fields."""
    object.__setattr__(obj, "cacheback", record)
    object.__setattr__(obj, "cacheback_hit", record.hit)
    return obj
