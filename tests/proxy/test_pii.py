"""The proxy's PII policy: bypass by default with the reason in the headers, X-Cacheback-PII per
request (a bad value is a 400), and ``--pii redact`` for the whole proxy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from proxy_support import RunningProxy

from cacheback.testing import FakeUpstream, Reply

CHAT = "/v1/chat/completions"
CARD = "4539 1488 0343 6467"


def _body(text: str) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


def test_personal_request_bypasses_with_reason(proxy: RunningProxy, upstream: FakeUpstream,
                                               tmp_path: Path) -> None:
    body = _body(f"my card {CARD} was declined")
    for _ in range(2):
        response = proxy.post(CHAT, body)
        assert response.status_code == 200
        assert response.headers["x-cacheback"] == "bypass"
        assert "card" in response.headers["x-cacheback-reason"]
        assert "4539" not in response.headers["x-cacheback-reason"]
    assert upstream.request_count() == 2
    stats = httpx.get(proxy.url + "/stats", timeout=10).text
    assert '"pii.found.card": 2' in stats.replace("\n", "") or '"pii.found.card":2' in stats
    assert "4539" not in stats and '"pii": "bypass"' in stats.replace('":"', '": "')
    for path in tmp_path.iterdir():
        if path.name.startswith("proxy.db"):
            assert CARD.encode() not in path.read_bytes()


def test_header_overrides_and_bad_value_is_400(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    body = _body(f"my card {CARD} was declined")
    assert proxy.post(CHAT, body, **{"X-Cacheback-PII": "maybe"}).status_code == 400
    assert proxy.post(CHAT, body, **{"X-Cacheback-PII": "off"}).headers["x-cacheback"] == "miss"
    assert "x-cacheback-pii" not in {k.lower() for k in upstream.requests[-1].headers}


def test_redact_mode_serves_the_template(start_proxy: Callable[..., RunningProxy],
                                         upstream: FakeUpstream) -> None:
    upstream.responder = lambda request: Reply("Declines usually mean insufficient funds.")
    proxy = start_proxy(pii="redact")
    assert proxy.post(CHAT, _body(f"my card {CARD} was declined")).headers["x-cacheback"] == "miss"
    proxy.wait_stored(1)
    hit = proxy.post(CHAT, _body("my card 5105 1051 0510 5100 was declined"))
    assert hit.headers["x-cacheback"] == "hit" and upstream.request_count() == 1
