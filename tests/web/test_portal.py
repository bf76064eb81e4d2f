"""The merchant portal: terminals, an online unbind from start to slip, and who may see what.

merchant1 is bound to the demo's clean merchant, merchant2 to the Shenzhen
merchant with two terminals; reviewer1 decides at the remote centre RC001.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from counter.adapters.demo.channels import CHANNEL_BRANCH, DEMO_MERCHANT_NO, load_channel_demo
from counter.store import users
from counter.web.context import WebContext
from counter.web.lookups import STATUS_READER

from .conftest import CLEAN_BINDING, PASSWORD, bearer, console_login, csrf_from, sent_code

PHONE = "13800138000"
OTHER_MERCHANT = "102310058120007"
OTHER_TERMINAL = "SN-NEW-000007"
TERMINAL = CLEAN_BINDING["terminal_sn"]
ACCOUNT = CLEAN_BINDING["account_number"]
UNKNOWN = "RC001-20261125-999999"


@pytest.fixture
def channel_web(web: WebContext) -> WebContext:
    """The test database with RC001's merchant1, reviewer1 and agent1, and a second merchant."""
    load_channel_demo(web.db, password=PASSWORD)
    users.create_user(
        web.db,
        username="merchant2",
        password=PASSWORD,
        roles=["merchant"],
        branch=CHANNEL_BRANCH,
        merchant_no=OTHER_MERCHANT,
    )
    return web


@pytest.fixture
def merchant(client: TestClient, channel_web: WebContext) -> TestClient:
    console_login(client, "merchant1")
    return client


@pytest.fixture
def other_client(client: TestClient, channel_web: WebContext) -> Iterator[TestClient]:
    """A second browser, for merchant2 or a member of staff beside merchant1."""
    with TestClient(client.app, base_url="http://testserver") as second:
        yield second


def token(client: TestClient, path: str = "/portal") -> str:
    return csrf_from(client.get(path).text)


def start(client: TestClient, terminal: str = TERMINAL) -> str:
    answer = client.post(
        "/portal/applications",
        data={"terminal_sn": terminal, "csrf_token": token(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(r"/portal/cases/([A-Z0-9-]+)\?terminal=.*", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def step(client: TestClient, reference: str, trigger: str, **fields: str) -> tuple[int, str]:
    page = client.get(f"/portal/cases/{reference}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version, page
    answer = client.post(
        f"/portal/cases/{reference}/steps/{trigger}",
        data={"csrf_token": csrf_from(page), "version": version.group(1), **fields},
    )
    return answer.status_code, answer.text


def request_code(client: TestClient, reference: str, **changes: str) -> tuple[int, str]:
    """The application step with the clean demo binding (``changes`` over it)."""
    fields = {
        "uscc": CLEAN_BINDING["uscc"],
        "terminal_sn": TERMINAL,
        "account_number": ACCOUNT,
        **changes,
    }
    return step(client, reference, "request_code", **fields)


def state_of(page: str) -> str:
    found = re.search(r'id="status" data-state="([a-z_]+)"', page)
    assert found, page
    return found.group(1)


def submitted(client: TestClient, web: WebContext) -> str:
    """merchant1's application waiting for the reviewer."""
    reference = start(client)
    status, page = request_code(client, reference)
    assert (status, state_of(page)) == (200, "code_check"), page
    status, page = step(client, reference, "submit_application", code=sent_code(web, PHONE))
    assert (status, state_of(page)) == (200, "online_review"), page
    return reference


def decide(client: TestClient, reference: str, trigger: str, **data: str) -> str:
    headers = bearer(client, "reviewer1")
    case = client.get(f"/api/cases/{reference}", headers=headers).json()
    answer = client.post(
        f"/api/cases/{reference}/triggers/{trigger}",
        json={"data": data, "version": case["version"]},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    state: str = answer.json()["state"]
    return state


# --- signing in, the home page ---------------------------------------------------------


def test_a_merchant_lands_on_the_portal_after_signing_in(
    client: TestClient, channel_web: WebContext
) -> None:
    login_page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "username": "merchant1",
            "password": PASSWORD,
            "csrf_token": csrf_from(login_page.text),
        },
        follow_redirects=False,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/portal")


def test_home_shows_own_terminals_with_the_account_masked(merchant: TestClient) -> None:
    page = merchant.get("/portal")
    assert page.status_code == 200
    assert DEMO_MERCHANT_NO in page.text and TERMINAL in page.text
    assert ACCOUNT not in page.text
    assert ACCOUNT[:6] in page.text and ACCOUNT[-4:] in page.text  # 6 + 4 by default
    assert "北京示例餐饮有限公司" in page.text
    assert OTHER_TERMINAL not in page.text


def test_portal_pages_carry_the_security_headers(merchant: TestClient) -> None:
    page = merchant.get("/portal")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_form_without_its_csrf_token_is_refused(merchant: TestClient) -> None:
    answer = merchant.post("/portal/applications", data={"terminal_sn": TERMINAL})
    assert answer.status_code == 403
    reference = start(merchant)
    answer = merchant.post(
        f"/portal/cases/{reference}/steps/withdraw",
        data={"csrf_token": "forged", "version": "1", "reason": "x"},
    )
    assert answer.status_code == 403


def test_a_merchant_is_locked_out_as_staff_are(client: TestClient, channel_web: WebContext) -> None:
    for _ in range(channel_web.settings.lockout_after):
        client.post(
            "/login",
            data={
                "username": "merchant1",
                "password": "wrong-password",
                "csrf_token": csrf_from(client.get("/login").text),
            },
        )
    answer = client.post(
        "/login",
        data={
            "username": "merchant1",
            "password": PASSWORD,
            "csrf_token": csrf_from(client.get("/login").text),
        },
    )
    assert answer.status_code == 401 and "锁定" in answer.text


# --- the application's whole life -----------------------------------------------------


def test_a_merchant_unbinds_online_and_downloads_the_slip(
    merchant: TestClient, channel_web: WebContext
) -> None:
    reference = start(merchant)
    page = merchant.get(f"/portal/cases/{reference}?terminal={TERMINAL}").text
    assert state_of(page) == "application"
    assert f'value="{TERMINAL}"' in page  # the chosen terminal, filled in
    reference = submitted(merchant, channel_web)
    page = merchant.get(f"/portal/cases/{reference}").text
    assert "正在等待银行审核" in page and "waiting for the bank" in page
    assert merchant.get(f"/portal/cases/{reference}/slip.pdf").status_code == 404

    # The answer is the step's own; the acquirer's answer follows once it commits.
    assert decide(merchant, reference, "approve", comment="ok") == "unbind_pending"
    page = merchant.get(f"/portal/cases/{reference}").text
    assert state_of(page) == "completed" and "解绑已完成" in page and "Unbound" in page
    assert ACCOUNT not in page
    slip = merchant.get(f"/portal/cases/{reference}/slip.pdf")
    assert slip.status_code == 200 and slip.content.startswith(b"%PDF")
    assert slip.headers["content-type"] == "application/pdf"
    home = merchant.get("/portal").text
    assert reference in home
    assert "未绑定结算账户" in home  # the terminal is unbound now


def test_a_rejection_says_why(merchant: TestClient, channel_web: WebContext) -> None:
    reference = submitted(merchant, channel_web)
    assert decide(merchant, reference, "reject", reason="营业执照已过期") == "rejected"
    page = merchant.get(f"/portal/cases/{reference}").text
    assert state_of(page) == "rejected"
    assert "申请未通过审核。原因:营业执照已过期" in page
    assert "The application was rejected. Reason: 营业执照已过期" in page


def test_a_referral_says_come_to_a_counter_with_the_reference(
    merchant: TestClient, channel_web: WebContext
) -> None:
    reference = submitted(merchant, channel_web)
    assert decide(merchant, reference, "refer_to_counter", reason="请带营业执照") == (
        "referred_to_counter"
    )
    page = merchant.get(f"/portal/cases/{reference}").text
    assert state_of(page) == "referred_to_counter"
    assert f"请携带有效身份证件到银行柜面办理,并出示业务编号 {reference}" in page
    assert "Please come to a bank counter" in page and "请带营业执照" in page


def test_the_merchant_withdraws_an_application(merchant: TestClient) -> None:
    reference = start(merchant)
    status, page = step(merchant, reference, "withdraw", reason="不再需要")
    assert (status, state_of(page)) == (200, "cancelled")
    assert "您已撤回此申请" in page


def test_a_wrong_code_and_a_wrong_account_are_shown_by_their_fields(
    merchant: TestClient, channel_web: WebContext
) -> None:
    reference = start(merchant)
    status, page = request_code(merchant, reference, account_number="6222021234567890136")
    assert status == 200 and state_of(page) == "code_check"
    status, page = step(merchant, reference, "submit_application", code="12345")
    assert status == 422 and 'id="submit_application-code-error"' in page
    status, page = step(
        merchant, reference, "submit_application", code=sent_code(channel_web, PHONE)
    )
    assert status == 422 and "结算账号不符" in page  # the finding by name, not its code
    assert "account_mismatch" not in page
    assert "6222021234567890136" not in page.split('id="step-alert"')[1].split("</div>")[0]
    status, page = step(merchant, reference, "edit_application")
    assert (status, state_of(page)) == (200, "application")


def test_the_merchant_number_is_always_the_users_own(
    merchant: TestClient, channel_web: WebContext
) -> None:
    reference = start(merchant)
    status, page = request_code(merchant, reference, merchant_no=OTHER_MERCHANT)
    assert (status, state_of(page)) == (200, "code_check")
    case = channel_web.desk.get(reference=reference, actor=STATUS_READER)
    assert case.data["pos_binding"]["merchant_no"] == DEMO_MERCHANT_NO


def test_a_step_the_case_is_not_at_is_refused(merchant: TestClient) -> None:
    reference = start(merchant)
    status, page = step(merchant, reference, "submit_application", code="123456")
    assert status == 409 and "此申请当前不能进行这一步" in page
    status, _ = step(merchant, reference, "approve")
    assert status == 409


# --- one merchant never sees another's --------------------------------------------------


def test_another_merchants_application_is_not_found_like_an_unknown_one(
    merchant: TestClient, other_client: TestClient, channel_web: WebContext
) -> None:
    reference = submitted(merchant, channel_web)
    console_login(other_client, "merchant2")
    home = other_client.get("/portal").text
    assert reference not in home and TERMINAL not in home and OTHER_TERMINAL in home
    for path in ("/portal/cases/{}", "/portal/cases/{}/slip.pdf"):
        theirs = other_client.get(path.format(reference))
        unknown = other_client.get(path.format(UNKNOWN))
        assert theirs.status_code == unknown.status_code == 404
    answer = other_client.post(
        f"/portal/cases/{reference}/steps/withdraw",
        data={"csrf_token": token(other_client), "version": "3", "reason": "x"},
    )
    assert answer.status_code == 404
    # Nor can merchant2 start an unbind of merchant1's terminal.
    answer = other_client.post(
        "/portal/applications", data={"terminal_sn": TERMINAL, "csrf_token": token(other_client)}
    )
    assert answer.status_code == 404
    assert merchant.get(f"/portal/cases/{reference}").status_code == 200


def test_the_api_keeps_merchants_apart_too(merchant: TestClient, channel_web: WebContext) -> None:
    reference = submitted(merchant, channel_web)
    headers = bearer(merchant, "merchant2")
    theirs = merchant.get(f"/api/cases/{reference}", headers=headers)
    unknown = merchant.get(f"/api/cases/{UNKNOWN}", headers=headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"]
    assert merchant.get(f"/api/cases/{reference}/journal", headers=headers).status_code == 404
    assert merchant.get("/api/cases", headers=headers).json() == []
    # Nor open a counter or phone case: their first steps are a teller's and an agent's.
    for workflow in ("pos_unbind", "settlement_card_change", "pos_unbind_phone"):
        answer = merchant.post("/api/cases", json={"workflow": workflow}, headers=headers)
        assert answer.status_code == 403, workflow
    assert merchant.get("/api/cases", headers=headers).json() == []
    answer = merchant.post(
        f"/api/cases/{reference}/triggers/withdraw",
        json={"data": {"reason": "x"}, "version": 3},
        headers=headers,
    )
    assert answer.status_code == 404
    mine = merchant.get(f"/api/cases/{reference}", headers=bearer(merchant, "merchant1"))
    assert mine.status_code == 200 and ACCOUNT not in mine.text


# --- staff and merchants keep to their own side ------------------------------------------


@pytest.mark.parametrize("username", ["teller1", "supervisor1", "auditor1", "reviewer1"])
def test_staff_are_refused_from_the_portal(
    other_client: TestClient, channel_web: WebContext, username: str
) -> None:
    console_login(other_client, username)
    assert other_client.get("/portal").status_code == 403
    csrf = csrf_from(other_client.get("/password").text)
    answer = other_client.post(
        "/portal/applications", data={"terminal_sn": TERMINAL, "csrf_token": csrf}
    )
    assert answer.status_code == 403
    assert other_client.get(f"/portal/cases/{UNKNOWN}").status_code == 403


def test_a_merchant_is_refused_from_the_console(
    merchant: TestClient, channel_web: WebContext
) -> None:
    reference = start(merchant)
    for path in (
        "/cases/new",
        f"/cases/{reference}",
        f"/cases/{reference}/diagram.svg",
        f"/cases/{reference}/slip",
        "/approvals",
        "/audit",
        f"/search?reference={reference}",
    ):
        answer = merchant.get(path)
        assert answer.status_code == 403, path
        assert "商户请使用商户服务" in answer.text
    answer = merchant.post("/cases", data={"workflow": "pos_unbind", "csrf_token": token(merchant)})
    assert answer.status_code == 403
    answer = merchant.post(
        f"/cases/{reference}/steps/withdraw",
        data={"csrf_token": token(merchant), "version": "1", "reason": "x"},
    )
    assert answer.status_code == 403
    # Their own account's pages stay open.
    assert merchant.get("/password").status_code == 200
    assert merchant.get("/status").status_code == 200


def test_a_merchant_at_the_tellers_home_is_sent_to_the_portal(merchant: TestClient) -> None:
    answer = merchant.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal"
    assert merchant.get("/").url.path == "/portal"


# --- the channel as a column of the staff lists ---------------------------------------------


def test_the_review_queue_and_the_audit_list_show_the_channel(
    merchant: TestClient, other_client: TestClient, channel_web: WebContext
) -> None:
    reference = submitted(merchant, channel_web)
    console_login(other_client, "reviewer1")
    queue = other_client.get("/approvals").text
    row = queue.split(reference)[1].split("</tr>")[0]
    assert 'data-channel="online"' in row and "网上" in row
    other_client.post("/logout", data={"csrf_token": token(other_client, "/approvals")})
    console_login(other_client, "auditor1")
    audit = other_client.get("/audit").text
    row = audit.split(reference)[2].split("</tr>")[0]
    assert 'data-channel="online"' in row


def opened_by_teller1(client: TestClient) -> str:
    """teller1 signs in and opens a counter case from the console: its reference."""
    console_login(client, "teller1")
    opened = client.post(
        "/cases",
        data={"workflow": "pos_unbind", "csrf_token": token(client, "/cases/new")},
        follow_redirects=False,
    )
    assert opened.status_code == 303, opened.text
    return str(opened.headers["location"]).rsplit("/", 1)[-1]


def test_the_tellers_case_list_shows_the_counter_channel(
    other_client: TestClient, channel_web: WebContext
) -> None:
    opened_by_teller1(other_client)
    home = other_client.get("/").text
    assert 'data-channel="counter"' in home and "柜面" in home


def test_the_staff_lists_show_the_channel_stored_with_the_case(
    other_client: TestClient, channel_web: WebContext
) -> None:
    """Not the channel the workflow declares: a case opened for another channel shows that."""
    reference = opened_by_teller1(other_client)
    with channel_web.db.transaction() as conn:
        conn.execute(text("UPDATE teller_case SET channel = 'phone' WHERE reference = :r"),
                     {"r": reference})
    row = other_client.get("/").text.split(reference)[2].split("</tr>")[0]
    assert 'data-channel="phone"' in row and "电话" in row
    other_client.post("/logout", data={"csrf_token": token(other_client, "/")})
    console_login(other_client, "auditor1")
    row = other_client.get("/audit").text.split(reference)[2].split("</tr>")[0]
    assert 'data-channel="phone"' in row


def test_the_portal_reads_in_english_after_the_switch(merchant: TestClient) -> None:
    reference = start(merchant)
    answer = merchant.post(
        "/lang",
        data={"lang": "en", "next": f"/portal/cases/{reference}", "csrf_token": token(merchant)},
        follow_redirects=False,
    )
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        f"/portal/cases/{reference}",
    )
    page = merchant.get(f"/portal/cases/{reference}").text
    assert '<html lang="en">' in page and "Not submitted yet" in page
    assert "Merchant services" in page and "Send me the code" in page


def test_without_a_session_the_portal_sends_to_the_login_page(
    merchant: TestClient, other_client: TestClient
) -> None:
    reference = start(merchant)
    page = other_client.get("/portal", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=%2Fportal")
    answer = other_client.post(
        f"/portal/cases/{reference}/steps/withdraw",
        data={"version": "1", "reason": "x"},
        follow_redirects=False,
    )
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        f"/login?next=/portal/cases/{reference}",
    )
