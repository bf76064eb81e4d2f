"""The teller's pages: home, new case, the case page with generated forms and errors by field."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from counter.web.context import WebContext

from .conftest import (
    AGENT_IDENTITY,
    CLEAN_BINDING,
    CLEAN_IDENTITY,
    PASSWORD,
    console_login,
    csrf_from,
    sent_code,
)


def open_case(client: TestClient) -> str:
    page = client.get("/cases/new")
    assert page.status_code == 200
    answer = client.post(
        "/cases",
        data={"csrf_token": csrf_from(page.text), "workflow": "pos_unbind"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    location: str = answer.headers["location"]
    return location.rsplit("/", 1)[1]


def step(client: TestClient, reference: str, trigger: str, data: dict[str, str]) -> tuple[int, str]:
    page = client.get(f"/cases/{reference}")
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    answer = client.post(
        f"/cases/{reference}/steps/{trigger}",
        data={
            "csrf_token": csrf_from(page.text),
            "version": version.group(1),
            "idempotency_key": key.group(1) + trigger,
            **data,
        },
        follow_redirects=False,
    )
    return answer.status_code, answer.text


def test_home_needs_login(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_case_page_generates_the_step_form_with_labels(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    page = client.get(f"/cases/{reference}").text
    assert "身份信息" in page or "身份核验" in page
    for name in ("id_number", "name", "id_expiry"):
        assert f'for="submit_identity-{name}"' in page
    assert "aria-describedby" not in page.split("submit_identity-id_number")[1].split(">")[0]
    assert f'data-src="/cases/{reference}/diagram.svg"' in page
    assert (
        client.get(f"/cases/{reference}/diagram.svg")
        .headers["content-type"]
        .startswith("image/svg+xml")
    )


def test_form_error_is_shown_next_to_its_field_in_chinese(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    status, page = step(
        client,
        reference,
        "submit_identity",
        {**CLEAN_IDENTITY, "name": "", "id_expiry": "", "id_expiry__long_term": "1"},
    )
    assert status == 422
    assert 'id="submit_identity-name-error"' in page
    assert 'aria-describedby="submit_identity-name-error" aria-invalid="true"' in page
    # The summary above the forms announces it and links to the field.
    assert 'href="#submit_identity-name" data-focus-link' in page
    assert "姓名为必填项" in page
    # What the teller typed is still there.
    assert 'value="110105198001010016"' in page


def test_blocking_finding_is_shown_and_nothing_changes(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    status, page = step(
        client,
        reference,
        "submit_identity",
        {**CLEAN_IDENTITY, "id_number": "110105198001010017", "id_expiry__long_term": "1"},
    )
    assert status == 422
    assert 'role="alert"' in page
    assert 'data-state="identity_check"' in page


def test_clean_case_through_the_console(client: TestClient, web: WebContext) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    identity = {**CLEAN_IDENTITY, "id_expiry": "", "id_expiry__long_term": "1"}
    assert step(client, reference, "submit_identity", identity)[0] == 303
    assert step(client, reference, "submit_binding", CLEAN_BINDING)[0] == 303
    assert (
        step(client, reference, "confirm_code", {"code": sent_code(web, "13800138000")})[0] == 303
    )
    status, page = step(client, reference, "sign_off", {"password": "wrong-password"})
    assert status == 422
    assert step(client, reference, "sign_off", {"password": PASSWORD})[0] == 303
    page = client.get(f"/cases/{reference}").text
    assert 'data-state="completed"' in page
    # Masked on the page: never the whole ID, card or name.
    assert "110105198001010016" not in page
    assert "6222021234567890128" not in page
    assert "张三" not in page


def test_stale_form_says_reload(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    page = client.get(f"/cases/{reference}")
    token = csrf_from(page.text)
    identity = {**CLEAN_IDENTITY, "id_expiry": "", "id_expiry__long_term": "1"}
    first = client.post(
        f"/cases/{reference}/steps/submit_identity",
        data={"csrf_token": token, "version": "1", **identity},
        follow_redirects=False,
    )
    assert first.status_code == 303
    second = client.post(
        f"/cases/{reference}/steps/cancel",
        data={"csrf_token": token, "version": "1", "reason": "x"},
        follow_redirects=False,
    )
    assert second.status_code == 409
    assert "刷新" in second.text


def test_step_without_csrf_is_refused(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    answer = client.post(f"/cases/{reference}/steps/cancel", data={"version": "1", "reason": "x"})
    assert answer.status_code == 403


def test_search_by_reference(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    found = client.get(f"/search?reference={reference.lower()}", follow_redirects=False)
    assert found.headers["location"] == f"/cases/{reference}"
    missing = client.get("/search?reference=B001-19990101-000009")
    assert missing.status_code == 404
    assert reference in client.get("/").text


def test_other_branch_cannot_see_the_case(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    client.cookies.clear()
    console_login(client, "teller9")
    assert client.get(f"/cases/{reference}").status_code == 404


def test_every_input_has_a_label(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    page = client.get(f"/cases/{reference}").text
    inputs = re.findall(r"<(?:input|select|textarea)\b([^>]*)>", page)
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    for attributes in inputs:
        if 'type="hidden"' in attributes:
            continue
        found = re.search(r'id="([^"]+)"', attributes)
        assert found, attributes
        assert found.group(1) in labelled, attributes


def test_the_case_page_in_english(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    page = client.get(f"/cases/{reference}")
    client.post(
        "/lang",
        data={"csrf_token": csrf_from(page.text), "lang": "en", "next": f"/cases/{reference}"},
    )
    english = client.get(f"/cases/{reference}").text
    assert 'lang="en"' in english
    assert (
        "Current step" in english and "Identity check" in english and "Document number" in english
    )
    assert "当前环节" not in english and "证件号码" not in english


def test_new_case_lists_only_the_services_the_role_opens(client: TestClient) -> None:
    console_login(client, "teller1")
    page = client.get("/cases/new").text
    offered = re.findall(r'name="workflow" value="([a-z_]+)"', page)
    assert offered == ["pos_unbind", "settlement_card_change"]  # not the online or phone ones
    answer = client.post(
        "/cases", data={"csrf_token": csrf_from(page), "workflow": "pos_unbind_phone"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "可开立的角色:service_agent" in answer.text
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    console_login(client, "auditor1")
    page = client.get("/cases/new").text
    assert re.findall(r'name="workflow" value="([a-z_]+)"', page) == []
    assert "您的角色不能开立任何业务" in page


def completed_through_the_console(client: TestClient, web: WebContext) -> str:
    console_login(client, "teller1")
    reference = open_case(client)
    identity = {**CLEAN_IDENTITY, "id_expiry": "", "id_expiry__long_term": "1"}
    assert step(client, reference, "submit_identity", identity)[0] == 303
    assert step(client, reference, "submit_binding", CLEAN_BINDING)[0] == 303
    code = sent_code(web, "13800138000")
    assert step(client, reference, "confirm_code", {"code": code})[0] == 303
    assert step(client, reference, "sign_off", {"password": PASSWORD})[0] == 303
    return reference


def test_the_journal_reads_in_words_with_its_hashes_whole(
    client: TestClient, web: WebContext
) -> None:
    reference = completed_through_the_console(client, web)
    page = client.get(f"/cases/{reference}").text
    entries = web.desk.journal(reference=reference)
    slip = next(e for e in entries if e.kind == "slip")
    assert slip.data_digest and f'<code class="hash">{slip.data_digest}</code>' in page
    assert f'<code class="hash">{entries[-1].hash}</code>' in page
    assert "回单已生成" in page and "原件" in page and "回单模板版本" in page
    assert '"copy_number"' not in page and "{&#34;" not in page  # no raw JSON
    # Branch time, labelled; stored in UTC.
    local = slip.at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"{local} 北京时间 (UTC+8)" in page
    # The acquirer's outcome in words, its reference whole.
    assert "<dd>已完成</dd>" in page and ">done<" not in page


def test_progress_row_marks_the_current_step(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    page = client.get(f"/cases/{reference}").text
    row = page.split('class="progress"')[1].split("</ol>")[0]
    steps = re.findall(r'<li class="(\w+)[^"]*"( aria-current="step")?>', row)
    assert [s[0] for s in steps] == ["current", "todo", "todo", "todo", "todo", "todo"]
    assert steps[0][1]


def test_changes_are_polled_cheaply_and_in_the_background(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    background = {"X-Counter-Background": "1"}
    seen = client.get(f"/cases/{reference}/changed?seen=0", headers=background).json()
    assert seen == {"seq": 1, "changed": True}
    assert client.get(f"/cases/{reference}/changed?seen=1", headers=background).json() == {
        "seq": 1,
        "changed": False,
    }
    identity = {**CLEAN_IDENTITY, "id_expiry": "", "id_expiry__long_term": "1"}
    step(client, reference, "submit_identity", identity)
    assert client.get(f"/cases/{reference}/changed?seen=1", headers=background).json()["changed"]
    branch = client.get("/changes?seen=0", headers=background).json()
    assert branch["seq"] >= 2 and branch["changed"]
    page = client.get(f"/cases/{reference}").text
    assert f'data-live-url="/cases/{reference}/changed"' in page
    mark = client.get(f"/cases/{reference}/changed?seen=0", headers=background).json()["seq"]
    assert f'data-live-seen="{mark}"' in page  # the page starts from what the poll answers


def test_the_diagram_is_drawn_by_title_and_cached(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    first = client.get(f"/cases/{reference}/diagram.svg")
    assert first.headers["content-type"].startswith("image/svg+xml")
    assert "身份核验" in first.text and "提交身份信息" in first.text
    assert ">identity_check<" not in first.text and ">submit_identity<" not in first.text
    assert first.text.count("需主管审批") <= 6  # one dashed edge per state that can raise one
    assert client.get(f"/cases/{reference}/diagram.svg").text == first.text


def test_error_pages_are_titled_and_worded_for_people(client: TestClient) -> None:
    console_login(client, "teller1")
    missing = client.get("/cases/NO-SUCH-CASE")
    assert missing.status_code == 404
    title = re.search(r"<title>(.*?)</title>", missing.text)
    assert title and "404" not in title.group(1) and "无法完成" in title.group(1)
    reference = open_case(client)
    page = client.get(f"/cases/{reference}").text
    answer = client.post(
        f"/cases/{reference}/steps/retry_unbind",
        data={"csrf_token": csrf_from(page), "version": "1"},
    )
    assert answer.status_code == 409
    alert = answer.text.split('id="step-alert"')[1].split("</div>")[0]
    assert "retry_unbind" not in alert and "重新提交解绑" in alert


def test_counter_favicon_and_post_redirect_get(client: TestClient) -> None:
    assert client.get("/favicon.ico").status_code == 200
    console_login(client, "teller1")
    page = client.get("/counter").text
    closed = client.post(
        "/counter/close", data={"csrf_token": csrf_from(page)}, follow_redirects=False
    )
    assert closed.status_code == 303 and closed.headers["location"] == "/counter?done=closed_ok"
    page = client.get("/counter").text
    assert 'autofocus' in page
    opened = client.post(
        "/counter/open",
        data={"csrf_token": csrf_from(page), "window": "1"},
        follow_redirects=False,
    )
    assert opened.status_code == 303 and opened.headers["location"] == "/counter?done=opened"
    assert "柜台已开启" in client.get(opened.headers["location"]).text
    home = client.get("/").text
    assert re.search(r'placeholder="B001-\d{8}-\d{6}"', home)


def test_the_code_step_says_where_the_code_went_and_a_resend_is_confirmed(
    client: TestClient,
) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    identity = {**CLEAN_IDENTITY, "id_expiry": "", "id_expiry__long_term": "1"}
    step(client, reference, "submit_identity", identity)
    step(client, reference, "submit_binding", CLEAN_BINDING)
    page = client.get(f"/cases/{reference}").text
    panel = page.split('id="code-panel"')[1].split("</div>")[0]
    assert "138****8000" in panel and "还可输入 3 次" in panel and "data-countdown=" in panel
    assert 'data-confirm="重新发送后' in page  # a resend voids the code out: asked first
    resent = client.get(f"/cases/{reference}?done=resend_code").text
    assert 'role="status"' in resent and "新的验证码已发送至 138****8000" in resent
    status, wrong = step(client, reference, "confirm_code", {"code": "000000"})
    assert status == 422  # refused on the code field, counted and journaled
    alert = wrong.split('id="step-alert"')[1].split("</div>")[0]
    assert 'role="alert"' in wrong and "验证码错误,还可再输入 2 次" in alert
    panel = wrong.split('id="code-panel"')[1].split("</div>")[0]
    assert "还可输入 2 次" in panel


def test_progress_row_shows_the_review_where_the_case_took_it(client: TestClient) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    agent = {**AGENT_IDENTITY, "id_expiry__long_term": ""}
    assert step(client, reference, "submit_identity", agent)[0] == 303
    page = client.get(f"/cases/{reference}").text
    row = page.split('class="progress"')[1].split("</ol>")[0]
    items = re.findall(r'<li class="([\w ]+)"[^>]*>.*?<span class="label">(.*?)</span>', row, re.S)
    assert items[:3] == [
        ("done", "身份核验"),
        ("current branch", "主管审批"),
        ("todo", "商户信息核对"),
    ]
    # Masked by class: the mandate number is shown whole, as the slip prints it.
    assert page.count("WT-2026-0001") >= 2  # the evidence and what was entered
    assert "330106197812300095" not in page


def wrong_check_character(client: TestClient) -> tuple[str, int, str]:
    """A case whose identity step was refused (the ID number's check character)."""
    console_login(client, "teller1")
    reference = open_case(client)
    status, page = step(
        client,
        reference,
        "submit_identity",
        {**CLEAN_IDENTITY, "id_number": "110105198001010017", "id_expiry__long_term": "1"},
    )
    return reference, status, page


def test_a_refused_step_shows_in_the_journal_with_its_reason(client: TestClient) -> None:
    reference, status, _ = wrong_check_character(client)
    assert status == 422
    page = client.get(f"/cases/{reference}").text
    timeline = page[page.index('id="journal-title"'):]
    assert "提交身份信息:未通过" in timeline and "证件号码校验位错误" in timeline
    assert "shape" not in timeline  # the entry's note is for machines
    console_login(client, "auditor1")
    audit = client.get(f"/audit/cases/{reference}")
    assert audit.status_code == 200, audit.text
    row = audit.text.split("提交身份信息:未通过")[1].split("</tr>")[0]
    assert "证件号码校验位错误" in row
    assert "→" not in row  # refused: the case stayed where it was


def test_a_wrong_code_is_shown_at_the_code_field_with_the_tries_left(
    client: TestClient, web: WebContext
) -> None:
    console_login(client, "teller1")
    reference = open_case(client)
    identity = {**CLEAN_IDENTITY, "id_expiry": "", "id_expiry__long_term": "1"}
    assert step(client, reference, "submit_identity", identity)[0] == 303
    assert step(client, reference, "submit_binding", CLEAN_BINDING)[0] == 303
    code = sent_code(web, "13800138000")
    status, page = step(client, reference, "confirm_code",
                        {"code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert status == 422
    assert "验证码错误,还可再输入 2 次" in page
    assert 'data-state="code_check"' in page
