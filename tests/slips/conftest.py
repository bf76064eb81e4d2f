"""Fixtures for the slip tests: one renderer and the sample slip rendered once per session.

Rendering takes about a tenth of a second, so the PDFs every test reads are
made once; tests that need their own context render it themselves.
"""

from __future__ import annotations

import pytest

from counter.slips import SlipContext, SlipRenderer
from counter.slips.sample import SAMPLE_SLIP

from .factories import slip_context


@pytest.fixture(scope="session")
def renderer() -> SlipRenderer:
    return SlipRenderer()


@pytest.fixture(scope="session")
def context() -> SlipContext:
    return slip_context()


@pytest.fixture(scope="session")
def a5_pdf(renderer: SlipRenderer, context: SlipContext) -> bytes:
    return renderer.render(SAMPLE_SLIP, context)


@pytest.fixture(scope="session")
def roll80_pdf(renderer: SlipRenderer, context: SlipContext) -> bytes:
    return renderer.render(SAMPLE_SLIP, context, fmt="roll80")
