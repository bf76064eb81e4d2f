"""New versions of the parcel workflow, written next to the test, for migration tests.

``new_version(desk, tmp_path, ...)`` copies the parcel workflow and its forms
into ``tmp_path``, applies the edits asked for and makes the result the
current version in the desk's catalog, as an operator editing the files and
restarting would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.parcel import FORMS, GOOD_CODE, IDENTITY, TELLER, WORKFLOWS

from counter.cases.desk import Desk
from counter.cases.views import CaseView
from counter.engine.loader import Workflow, load_workflow

PHONE_FIELD = """  - name: recipient_phone
    label: {zh: 领取人电话, en: Recipient phone}
    required: true
    pii: phone
"""


def new_version(
    desk: Desk,
    folder: Path,
    *,
    rename_state: tuple[str, str] | None = None,
    migration: str = "",
    phone_required: bool = False,
    rename_field: tuple[str, str] | None = None,
) -> Workflow:
    """A new current version of ``parcel_pickup`` with the edits asked for."""
    workflows, forms = folder / "workflows", folder / "forms"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(FORMS, forms)
    workflows.mkdir(parents=True)
    text = (WORKFLOWS / "parcel_pickup.yaml").read_text(encoding="utf-8")
    if rename_state is not None:
        text = text.replace(f"{rename_state[0]}:", f"{rename_state[1]}:")
        text = text.replace(f"source: {rename_state[0]}", f"source: {rename_state[1]}")
        text = text.replace(f"dest: {rename_state[0]}", f"dest: {rename_state[1]}")
    identity = (forms / "pickup_identity.yaml").read_text(encoding="utf-8")
    if rename_field is not None:
        identity = identity.replace(f"name: {rename_field[0]}", f"name: {rename_field[1]}")
    if phone_required:
        identity += PHONE_FIELD
    (forms / "pickup_identity.yaml").write_text(identity, encoding="utf-8")
    path = workflows / "parcel_pickup.yaml"
    path.write_text(text + migration, encoding="utf-8")
    return desk.runtime.catalog.add(load_workflow(path, forms, desk.runtime.registry))


def in_state(desk: Desk, state: str) -> CaseView:
    """A new parcel case walked to ``state`` (of the original version) on the current one."""
    case = desk.open_case(workflow="parcel_pickup", actor=TELLER)
    if state == "identify":
        return case
    name = "Nobody" if state == "supervisor_review" else IDENTITY["recipient_name"]
    case = desk.fire(
        reference=case.reference, trigger="submit_identity", actor=TELLER,
        data={**IDENTITY, "recipient_name": name}, version=case.version,
    )
    if state == "hand_over":
        case = desk.fire(
            reference=case.reference, trigger="submit_code", actor=TELLER,
            data={"code": GOOD_CODE}, version=case.version,
        )
    return case
