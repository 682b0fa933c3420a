"""The dashboard in a real headless browser (Debian's chromium driven by Playwright; no
browser download) against a paper run on the OKX emulator: candles drawn, a fill marker within
a second of the fill, a working order's line appearing and vanishing with it, halt from the page
stopping new orders at the venue, two pages agreeing. Screenshots go to
``out/ci/dashboard/`` (``TRADELOOP_ARTIFACTS`` overrides the folder)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.conformance.harness import until, until_async
from tests.dashboard.conftest import paper_run

from tradeloop.model import OrderStatus

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


async def wait_js(page: Any, expr: str, timeout_s: float = 30.0) -> Any:
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
            # a fill marker pushed as it happens (about 0.1 s from the engine seeing the fill
            # to the page on an idle machine; the issue asks for under a second): it comes in
            # a delta, not a fresh snapshot; the bound on its lag is generous, only a fill that
            # waited for something (a refresh, a reconnect) would break it on a slow machine
            n0, snaps = await a.evaluate("[window.__tl.S.fills.length, window.__tl.T.snapshots]")
            await wait_js(a, f"window.__tl.S.fills.length > {n0}")
            lags = await a.evaluate(
                f"window.__tl.S.fills.slice({n0}).map(f => window.__tl.T.fillSeen[f.id] - f.w)"
            )
            print(f"dashboard fill lags (ms): {lags}")
            assert await a.evaluate("window.__tl.T.snapshots") == snaps
            assert lags and max(lags) < 5000, lags
            assert await a.evaluate("window.__tl.chart.markerCount") >= 1
            # a working order's line appears, then vanishes when the order ends
            oid = await wait_js(a, "Array.from(window.__tl.chart.lines.keys())"
                                   ".find(k => k.startsWith('order:')) || null")  # fmt: skip
            await wait_js(a, f"!window.__tl.chart.lines.has({json.dumps(oid)})")
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
            # ... and the venue gets no new order while the strategy keeps asking: once no
            # order sent before the halt is still on its way, two more bars change nothing
            group = run.rt.groups[0]
            await until(lambda: not any(o.status is OrderStatus.SUBMITTED
                                        for o in group.kernel.oms.open_orders.values()),
                        "the orders sent before the halt to be answered", 30)  # fmt: skip
            before = run.venue_orders()
            busy = group.strategies[0]
            asked = busy.n
            await until(lambda: busy.n >= asked + 2, "two more bars", 30)
            assert run.venue_orders() == before
            assert group.kernel.risk.state.value == "halted"
            # two pages show the same thing (each applies the same pushes, maybe not at the
            # same moment: compared until they agree, which they must within a few refreshes)
            js = ("JSON.stringify([window.__tl.S.status.groups.map(g => [g.positions, "
                  "g.risk.state]), window.__tl.S.fills.map(f => f.id).slice(-20), "
                  "document.getElementById('positions').innerText])")  # fmt: skip
            seen: list[Any] = []

            async def same() -> bool:
                seen[:] = [await a.evaluate(js), await b.evaluate(js)]
                return bool(seen[0] == seen[1])

            try:
                await until_async(same, "both pages to show the same thing", 30)
            except AssertionError as e:
                raise AssertionError(f"{e}: page a {seen[0]!r}, page b {seen[1]!r}") from None
            assert "operator" in await a.inner_text("#controls")
            await a.screenshot(path=str(out / "halted-page-a.png"))
            await b.screenshot(path=str(out / "halted-page-b.png"))
            assert not errors, errors
        finally:
            await browser.close()
