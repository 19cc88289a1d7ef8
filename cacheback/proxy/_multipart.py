"""An I/O-free reader of ``multipart/form-data`` bodies (RFC 7578), on the standard library's
MIME parser: form fields as text, and the one file part's bytes and name."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP

__all__ = ["FormData", "MultipartError", "parse_form"]


class MultipartError(ValueError):
    """The body is not a readable multipart form."""


@dataclass(frozen=True)
class FormData:
    """The fields of a form (a repeated name keeps every value, in order) and its file."""

    fields: dict[str, str | list[str]] = field(default_factory=dict)
    file: bytes = b""
    filename: str | None = None


def parse_form(content_type: str, body: bytes, file_field: str = "file") -> FormData:
    """Read a multipart form; ``file_field`` names the part holding the file."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise MultipartError("not a multipart/form-data body with a boundary")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise MultipartError("no parts found")
    fields: dict[str, str | list[str]] = {}
    data, filename = b"", None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise MultipartError("a part without a name")
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        if name == file_field:
            data = raw
            got = part.get_filename()
            filename = got if isinstance(got, str) else None
            continue
        text = raw.decode("utf-8", errors="replace")
        old = fields.get(name)
        if old is None:
            fields[name] = text
        else:
            fields[name] = [*(old if isinstance(old, list) else [old]), text]
    return FormData(fields, data, filename)
