"""The slip: the stored PDF through the API and the console, preview, reprint."""

from __future__ import annotations

from fastapi.testclient import TestClient

from counter.web.context import WebContext

from .conftest import bearer, console_login, csrf_from
from .test_audit_and_status import completed_case


def test_api_serves_the_original_slip(client: TestClient, web: WebContext) -> None:
    reference = completed_case(client, web)
    headers = bearer(client, "teller1")
    answer = client.get(f"/api/cases/{reference}/slip.pdf", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    assert client.get(f"/api/cases/{reference}/slip.pdf?copy=1", headers=headers).status_code == 404
    assert client.get(f"/api/cases/{reference}/slip.pdf").status_code == 401
    assert (
        client.get(
            f"/api/cases/{reference}/slip.pdf", headers=bearer(client, "teller9")
        ).status_code
        == 404
    )


def test_no_slip_before_completion(client: TestClient) -> None:
    headers = bearer(client, "teller1")
    case = client.post("/api/cases", json={"workflow": "pos_unbind"}, headers=headers).json()
    assert (
        client.get(f"/api/cases/{case['reference']}/slip.pdf", headers=headers).status_code == 404
    )


def test_preview_and_reprint_in_the_console(client: TestClient, web: WebContext) -> None:
    reference = completed_case(client, web)
    console_login(client, "teller1")
    case_page = client.get(f"/cases/{reference}").text
    assert f'href="/cases/{reference}/slip"' in case_page
    preview = client.get(f"/cases/{reference}/slip")
    assert preview.status_code == 200
    assert f'src="/cases/{reference}/slip.pdf?copy=0"' in preview.text
    pdf = client.get(f"/cases/{reference}/slip.pdf?copy=0")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "frame-ancestors 'self'" in pdf.headers["content-security-policy"]
    assert pdf.headers["x-frame-options"] == "SAMEORIGIN"
    unexplained = client.post(
        f"/cases/{reference}/slip/reprint",
        data={"csrf_token": csrf_from(preview.text), "reason": " "},
        follow_redirects=False,
    )
    assert unexplained.status_code == 422 and "重打原因" in unexplained.text
    reprinted = client.post(
        f"/cases/{reference}/slip/reprint",
        data={"csrf_token": csrf_from(preview.text), "reason": "客户遗失回单"},
        follow_redirects=False,
    )
    assert reprinted.status_code == 303
    assert reprinted.headers["location"].endswith("copy=1")
    page = client.get(f"/cases/{reference}/slip?copy=1").text
    assert "第 1 次重打" in page
    journal = client.get(
        f"/api/cases/{reference}/journal", headers=bearer(client, "teller1")
    ).json()
    assert [e["kind"] for e in journal][-2:] == ["slip", "reprint"]
    assert '"reason":"客户遗失回单"' in journal[-1]["note"]


def test_reprint_needs_csrf_and_a_teller(client: TestClient, web: WebContext) -> None:
    reference = completed_case(client, web)
    console_login(client, "teller1")
    assert client.post(f"/cases/{reference}/slip/reprint", data={}).status_code == 403
    client.cookies.clear()
    console_login(client, "auditor1")
    page = client.get(f"/cases/{reference}/slip")
    answer = client.post(
        f"/cases/{reference}/slip/reprint",
        data={"csrf_token": csrf_from(page.text), "reason": "客户遗失回单"},
    )
    assert answer.status_code == 403
