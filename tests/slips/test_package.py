"""The public API of ``counter.slips`` is exactly ``__all__``, and it imports only what it may."""

from __future__ import annotations

import counter.slips

from .factories import run_python


def test_all_names_exist_and_nothing_public_is_left_out() -> None:
    for name in counter.slips.__all__:
        assert hasattr(counter.slips, name), name
    public = {
        name
        for name, value in vars(counter.slips).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("counter.slips")
    }
    assert public <= set(counter.slips.__all__)


def test_slips_import_no_web_store_engine_or_adapters() -> None:
    script = (
        "import sys, counter.slips, counter.slips.sample\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['counter', 'web'], ['counter', 'store'], ['counter', 'engine'], "
        "['counter', 'adapters'], ['counter', 'cases']))\n"
        "print(','.join(bad))\n"
    )
    assert run_python(script).strip() == ""
