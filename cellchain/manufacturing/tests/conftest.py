"""Fixtures of the manufacturing and QC tests: a frozen clock the kit moves forward, and the kit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.manufacturing.tests.kit import ManufacturingKit
from conftest import PERSONA_PASSWORD


@pytest.fixture
def mfg(world: Any) -> Iterator[ManufacturingKit]:
    """The kit with its product approved; the clock is frozen and moved forward only by the kit."""
    start = clock.now().replace(microsecond=0)
    depth = len(clock._frozen)
    with clock.frozen(start):
        kit = ManufacturingKit(world, PERSONA_PASSWORD, start).setup()
        yield kit
        del clock._frozen[depth + 1 :]


@pytest.fixture
def now(mfg: ManufacturingKit) -> dt.datetime:
    return mfg.now
