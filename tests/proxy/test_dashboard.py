"""The dashboard: its JSON holds aggregates only, and headless Chromium renders real numbers
and charts from it (a DOM dump and a non-blank screenshot).

Chromium is Debian's ``chromium`` (``.ci/run`` installs it). Outside CI a machine without it
skips the browser test with the reason; in CI (``CI`` set, as ``.ci/run`` does) its absence fails the test.
Set ``CACHEBACK_DASHBOARD_SCREENSHOT=<file>`` to keep the screenshot (docs/img/dashboard.png).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from proxy_support import ANTHROPIC_BODY, OPENAI_BODY, RunningProxy

from cacheback.proxy._dashboard import quantile
from cacheback.proxy._metrics import BUCKETS

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--window-size=1200,1000", "--virtual-time-budget=5000"]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must apt-get install it")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it")
    return found


def _traffic(proxy: RunningProxy) -> None:
    """Four rounds whose share of repeats rises 0, 25, 50, 75 % (plus one Anthropic request
    each), the dashboard polled before and after each round so its history has one interval per
    round."""
    httpx.get(proxy.url + "/dashboard/data")
    stored = 0
    for round_ in range(4):
        questions = [f"question 0-{i}" for i in range(2 * round_)]
        questions += [f"question {round_}-{i}" for i in range(2 * round_, 8)]
        time.sleep(1.05)
        for question in questions:
            proxy.post("/v1/chat/completions",
                       {**OPENAI_BODY, "messages": [{"role": "user", "content": question}]})
        proxy.post("/v1/messages", ANTHROPIC_BODY)
        stored += 8 - 2 * round_ + (round_ == 0)
        proxy.wait_stored(stored)
        httpx.get(proxy.url + "/dashboard/data")


def test_the_data_holds_aggregates_and_no_personal_data(start_proxy: Callable[..., RunningProxy]) -> None:
    proxy = start_proxy()
    proxy.post("/v1/chat/completions", OPENAI_BODY, key="sk-very-secret-key")
    proxy.wait_stored(1)
    proxy.post("/v1/chat/completions", OPENAI_BODY, key="sk-very-secret-key")
    answer = httpx.get(proxy.url + "/dashboard/data")
    data = answer.json()
    assert data["hits"] == {"exact": 1} and data["misses"] == 1 and data["cache"]["entries"] == 1
    assert data["latency"]["hit"]["count"] == 1 and data["latency"]["upstream"]["count"] == 1
    assert data["saved"]["output_tokens"] > 0 and len(data["history"]) == 1
    text = answer.text
    for secret in ("sk-very-secret-key", "What is SSE", "127.0.0.1", "key:", proxy.config.db):
        assert secret not in text
    page = httpx.get(proxy.url + "/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), "the page must load nothing remote"
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_quantile_reads_bucket_bounds() -> None:
    cells = [0.0] * (len(BUCKETS) + 3)
    cells[BUCKETS.index(0.005)] = 10
    cells[-2], cells[-1] = 0.04, 10
    assert 0.0025 < quantile(cells, 0.5) <= 0.005  # type: ignore[operator]
    assert quantile([0.0] * (len(BUCKETS) + 3), 0.5) is None


def test_chromium_renders_the_live_dashboard(start_proxy: Callable[..., RunningProxy],
                                            tmp_path: Path) -> None:
    browser = _chromium()
    proxy = start_proxy()
    _traffic(proxy)
    data = httpx.get(proxy.url + "/dashboard/data").json()
    flags = [browser, *_FLAGS]
    dom = subprocess.run([*flags, f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom",
                          proxy.url + "/dashboard"], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert re.search(r'data-rendered="\d', html), "the page never rendered its data"
    assert f'id="hits-exact">{data["hits"]["exact"]}<' in html
    assert f'id="misses">{data["misses"]}<' in html
    assert f'id="entries">{data["cache"]["entries"]}<' in html
    total = sum(data["hits"].values()) + data["misses"]
    assert f'id="hit-rate">{100 * sum(data["hits"].values()) / total:.1f}%<' in html
    assert html.count("<polyline") >= 3, "the hit-rate and latency charts drew no lines"
    assert 'class="ok">cache ok<' in html

    shot = tmp_path / "dashboard.png"
    run = subprocess.run([*flags, f"--user-data-dir={tmp_path / 'profile-shot'}", f"--screenshot={shot}",
                          proxy.url + "/dashboard"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (1000, 1200)
    assert pixels.std() > 20, "the screenshot is blank"
    assert (pixels < 80).mean() > 0.02, "no dark header or text was drawn"
    if keep := os.environ.get("CACHEBACK_DASHBOARD_SCREENSHOT"):
        shutil.copy(shot, keep)
