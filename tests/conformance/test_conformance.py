"""Every conformance check against every listed venue (``conftest.HARNESSES``).

A venue lacking what a check needs is skipped with its harness's reason; a check listed in the
harness's ``known_gaps`` runs as a strict xfail naming the gap in ``src/``. After the check, the
recorder's emission rules must hold over everything the gateway said.
"""

from __future__ import annotations

import pytest

from .checks import CHECKS, Spec
from .harness import VenueHarness


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
async def test_conformance(
    harness_cls: type[VenueHarness], check: Spec, request: pytest.FixtureRequest
) -> None:
    for need in check.needs:
        why = harness_cls.lacks.get(need)
        if why:
            pytest.skip(f"{harness_cls.name} lacks {need.value}: {why}")
    gap = harness_cls.known_gaps.get(check.name)
    if gap:
        request.applymarker(pytest.mark.xfail(reason=f"known gap: {gap}", strict=True))
    venue = harness_cls()
    try:
        await venue.start()
        await check.fn(venue)
        await venue.gateway.drain()
        venue.rec.assert_clean()
    finally:
        await venue.stop()


def test_every_check_is_listed_once() -> None:
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names))
