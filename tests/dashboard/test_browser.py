"""The dashboard in a real headless browser (Debian's chromium driven by Playwright; no
browser download) against a paper run on the OKX emulator: candles drawn, a fill marker within
a second of the fill, a working order's line appearing and vanishing with it, halt from the page
stopping new orders at the venue, two pages agreeing. Screenshots go to
``out/ci/dashboard/`` (``TRADELOOP_ARTIFACTS`` overrides the folder)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.dashboard.conftest import paper_run

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TRADELOOP_CHROMIUM", "/usr/bin/chromium")
#: the flags headless Chromium needs on these machines (closed network, root, no GPU)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]


def _browser_or_skip() -> Any:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing in CI: scripts/test.sh installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed and scripts/test.sh could not apt-get it here")
    return async_playwright


def artifacts() -> Path:
    out = Path(os.environ.get("TRADELOOP_ARTIFACTS", ROOT / "out" / "ci")) / "dashboard"
    out.mkdir(parents=True, exist_ok=True)
    return out


async def wait_js(page: Any, expr: str, timeout_s: float = 10.0) -> Any:
    await page.wait_for_function(expr, timeout=timeout_s * 1000)
    return await page.evaluate(expr)


async def test_dashboard_in_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async_playwright = _browser_or_skip()
    out = artifacts()
    async with paper_run(tmp_path, monkeypatch) as run, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            ctx = await browser.new_context(
                viewport={"width": 1500, "height": 900}, bypass_csp=True
            )  # the probes use eval
            a, b = await ctx.new_page(), await ctx.new_page()
            errors: list[str] = []
            a.on("pageerror", lambda e: errors.append(str(e)))
            await a.goto(run.url)
            await b.goto(run.url)
            await a.select_option("#period", "1")
            # candles on the chart
            await wait_js(a, "window.__tl.chart.count > 2")
            # a fill marker within a second of the engine seeing the fill
            n0 = await a.evaluate("window.__tl.S.fills.length")
            await wait_js(a, f"window.__tl.S.fills.length > {n0}", 15)
            lags = await a.evaluate(
                f"window.__tl.S.fills.slice({n0}).map(f => window.__tl.T.fillSeen[f.id] - f.w)"
            )
            assert lags and max(lags) < 1000, lags
            assert await a.evaluate("window.__tl.chart.markerCount") >= 1
            # a working order's line appears, then vanishes when the order ends
            oid = await wait_js(a, "Array.from(window.__tl.chart.lines.keys())"
                                   ".find(k => k.startsWith('order:')) || null")  # fmt: skip
            await wait_js(a, f"!window.__tl.chart.lines.has({json.dumps(oid)})", 10)
            assert not await a.evaluate(f"window.__tl.S.orders.has({json.dumps(oid[6:])})")
            await a.screenshot(path=str(out / "trading.png"))
            # halt the account from the page (with confirmation) ...
            await a.click('#risk tr[data-group="okx-a"] button[data-action="halt"]')
            assert "halt" in (await a.inner_text("#confirm-text")).lower()
            await a.click("#confirm-ok")
            await wait_js(a, "document.getElementById('confirm-result').textContent.length > 0")
            assert "halted" in await a.inner_text("#confirm-result")
            for page in (a, b):
                await wait_js(page, "document.querySelector('#risk .risk-state')"
                                    ".textContent === 'HALTED'")  # fmt: skip
            # ... and the venue gets no new order while the strategy keeps asking
            await asyncio.sleep(0.5)
            before = run.venue_orders()
            await asyncio.sleep(2.5)
            assert run.venue_orders() == before
            assert run.rt.groups[0].kernel.risk.state.value == "halted"
            # two pages show the same thing
            await asyncio.sleep(1.2)  # one refresh
            js = ("JSON.stringify([window.__tl.S.status.groups.map(g => [g.positions, "
                  "g.risk.state]), window.__tl.S.fills.map(f => f.id).slice(-20)])")  # fmt: skip
            assert await a.evaluate(js) == await b.evaluate(js)
            assert await a.inner_text("#positions") == await b.inner_text("#positions")
            assert "operator" in await a.inner_text("#controls")
            await a.screenshot(path=str(out / "halted-page-a.png"))
            await b.screenshot(path=str(out / "halted-page-b.png"))
            assert not errors, errors
        finally:
            await browser.close()
