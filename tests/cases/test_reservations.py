"""``reservations.plan``: what one step takes and gives back, from the data before and after."""

from __future__ import annotations

import pytest

from counter.cases import reservations
from counter.config import Settings
from counter.engine.loader import Catalog, Workflow
from counter.engine.registry import default_registry

BINDING = {"merchant_no": "102110058120001", "terminal_sn": "SN-PAX-000001"}


@pytest.fixture(scope="module")
def unbind() -> Workflow:
    import counter.banking.rules  # noqa: F401  (the names the workflows use)

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    catalog = Catalog.load(settings.workflows_dir, settings.forms_dir, default_registry)
    return catalog.current("pos_unbind")


def taken(step: reservations.Plan) -> list[tuple[str, str]]:
    return [(hold.object, key) for hold, key in step.take]


def test_the_step_that_names_the_terminal_takes_it_and_later_steps_do_nothing(
    unbind: Workflow,
) -> None:
    named = {"pos_binding": BINDING}
    assert not reservations.plan(unbind, {}, {"identity": {}}, final=False)
    assert taken(reservations.plan(unbind, {}, named, final=False)) == [
        ("terminal", "SN-PAX-000001")
    ]
    assert not reservations.plan(unbind, named, {**named, "unbind_code": {}}, final=False)


def test_another_terminal_gives_the_first_back(unbind: Workflow) -> None:
    step = reservations.plan(
        unbind,
        {"pos_binding": BINDING},
        {"pos_binding": {**BINDING, "terminal_sn": "sn-pax-000009"}},
        final=False,
    )
    assert taken(step) == [("terminal", "SN-PAX-000009")]
    assert step.give_back == ("terminal:SN-PAX-000001",)


def test_the_end_gives_back_the_terminal_but_never_the_referral(unbind: Workflow) -> None:
    data = {"pos_binding": BINDING, "referral_pickup": {"referral_ref": "RC001-20261125-000003"}}
    step = reservations.plan(unbind, data, data, final=True)
    assert step.release == ("terminal",) and not step.take
    assert not reservations.plan(unbind, {}, {}, final=True)  # it never held anything
