"""``SlipRenderer``: what the printed PDF holds, and what it must never hold."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import segno
from pypdf import PageObject

from counter.errors import ConfigurationError, DefinitionError, NotFound
from counter.slips import (
    PartyLine,
    ReprintMark,
    SlipContext,
    SlipRenderer,
    default_renderer,
    shared_font_config,
    slip_sources,
)
from counter.slips.context import ApprovedFinding
from counter.slips.render import QR_MODULE_PIXELS
from counter.slips.sample import SAMPLE_SLIP, sample_context
from counter.text import Text

from .factories import (
    RAW_ACCOUNT,
    RAW_AGENT_ID,
    RAW_ID,
    RAW_PHONE,
    all_text,
    decoded_streams,
    font_file_keys,
    page_fonts,
    page_texts,
    reader,
    run_python,
    slip_context,
)

A5_POINTS = (419.53, 595.28)  # 148 mm x 210 mm
ROLL_WIDTH_POINTS = 226.77  # 80 mm
HOSTILE = "<b>张</b><script>alert(1)</script>"

# Every Chinese string the flagship template prints: if the font lacked a glyph,
# WeasyPrint would fall back to another font or draw an empty box, and the
# text would not come back out of the PDF (or a second font would appear).
PRINTED_CHINESE = [
    "POS机结算卡解绑确认单",
    "客户联",
    "银行留存联",
    "示例银行",
    "北京中关村支行",
    "业务编号",
    "日期时间",
    "业务类型",
    "委托人",
    "代理人",
    "居民身份证",
    "联系电话",
    "商户名称",
    "北京市海淀区晨光便利店",
    "商户编号",
    "终端序列号",
    "解绑账户",
    "身份核验",
    "联网核查",
    "人像比对",
    "办理结果",
    "解绑成功",
    "主管审批事项",
    "请妥善保管本凭条",
    "网点业务章",
    "客户签名",
    "经办柜员",
]


def _content(page: PageObject) -> bytes:
    contents = page.get_contents()
    assert contents is not None
    return contents.get_data()


def _squeeze(text: str) -> str:
    """Text without line breaks, which the extractor puts where the lines wrapped."""
    return "".join(text.split("\n"))


def test_the_slip_shows_title_reference_masked_numbers_and_staff(a5_pdf: bytes) -> None:
    text = all_text(a5_pdf)
    assert "POS机结算卡解绑确认单" in text
    assert "Confirmation of POS settlement card unbinding" in text
    assert "PU-20261125-0042" in text
    assert "622202*********0128" in text  # account unbound
    assert "110***********002X" in text  # principal's ID
    assert "110***********4513" in text  # agent's ID
    assert "138****5678" in text
    assert "王**" in text and "李**" in text
    assert "T10086" in text  # teller
    assert "S20017" in text  # supervisor who approved the finding
    assert "结算卡号校验位不符" in text
    assert "102110054119876" in text and "PAX-A920-00417731" in text
    assert "2026-11-25 14:32:07" in text
    assert "https://bank.example.cn/counter/status/PU-20261125-0042" in _squeeze(text)


def test_no_full_number_anywhere_in_the_file(a5_pdf: bytes) -> None:
    text = all_text(a5_pdf)
    metadata = " ".join(str(value) for value in (reader(a5_pdf).metadata or {}).values())
    streams = decoded_streams(a5_pdf)
    assert streams, "the PDF should have content streams"
    for raw in (RAW_ID, RAW_AGENT_ID, RAW_ACCOUNT, RAW_PHONE, "王秀英", "李明远"):
        assert raw not in text
        assert raw not in metadata
        assert raw.encode() not in a5_pdf
        for stream in streams:
            assert raw.encode() not in stream
            assert raw.encode("utf-16-be") not in stream


def test_two_copies_on_separate_a5_pages(a5_pdf: bytes) -> None:
    pdf = reader(a5_pdf)
    assert len(pdf.pages) == 2
    for page in pdf.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 2), round(height, 2)) == A5_POINTS
    customer, bank = page_texts(a5_pdf)
    assert "客户联" in customer and "Customer copy" in customer
    assert "银行留存联" not in customer
    assert "银行留存联" in bank and "Bank copy" in bank
    for page_text in (customer, bank):
        assert "客户签名" in page_text and "网点业务章" in page_text
        assert "PU-20261125-0042" in page_text


def test_seven_approved_findings_still_fit_each_copy_on_its_page(renderer: SlipRenderer) -> None:
    approvals = [
        ApprovedFinding(
            code=f"finding_{i}",
            message=Text(
                zh=f"第{i}项核对事项已由主管确认", en=f"Check {i} confirmed by the supervisor"
            ),
            supervisor_id="S20017",
        )
        for i in range(1, 8)
    ]
    pdf = renderer.render(SAMPLE_SLIP, slip_context(approvals=approvals))
    customer, bank = page_texts(pdf)
    for page_text in (customer, bank):
        assert "第7项核对事项已由主管确认" in page_text and "Check 7 confirmed" in page_text
        assert "客户签名" in page_text and "网点业务章" in page_text


def test_roll80_pages_are_80_mm_wide(roll80_pdf: bytes) -> None:
    pdf = reader(roll80_pdf)
    assert len(pdf.pages) == 2
    for page in pdf.pages:
        assert round(float(page.mediabox.width), 2) == ROLL_WIDTH_POINTS
    assert "PU-20261125-0042" in all_text(roll80_pdf)


def test_the_chinese_font_is_embedded_once(a5_pdf: bytes) -> None:
    fonts = page_fonts(a5_pdf)
    names = {str(font["/BaseFont"]) for font in fonts}
    # One subset of one face: a bold or a fallback font would be a second name.
    assert len(names) == 1, names
    (name,) = names
    assert any(family in name for family in ("WenQuanYi", "NotoSansCJK", "NotoSansSC")), name
    for font in fonts:
        assert font_file_keys(font) & {"/FontFile2", "/FontFile3"}


def test_every_chinese_character_comes_back_out(a5_pdf: bytes) -> None:
    text = _squeeze(all_text(a5_pdf))
    missing = [word for word in PRINTED_CHINESE if word not in text]
    assert not missing
    assert "\ufffd" not in text


def test_html_in_a_value_prints_as_text(renderer: SlipRenderer) -> None:
    context = slip_context(merchant_name=HOSTILE)
    # A masked name keeps only its first character, so put the hostile name
    # in the context directly to reach the template whole.
    context = context.model_copy(
        update={
            "customer": PartyLine(
                name=HOSTILE, id_type=context.customer.id_type, id_number=context.customer.id_number
            )
        }
    )
    html = renderer.render_html(SAMPLE_SLIP, context)
    assert "<script>" not in html and "<b>张" not in html
    assert "&lt;b&gt;张&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = _squeeze(all_text(renderer.render(SAMPLE_SLIP, context)))
    assert text.count(HOSTILE) == 4  # name and merchant, on both copies


def test_same_context_renders_byte_identical(
    renderer: SlipRenderer, context: SlipContext, a5_pdf: bytes
) -> None:
    # Byte-identical, nothing removed: WeasyPrint writes no /ID unless asked and
    # the only date in the metadata is the slip's own issued_at.
    assert renderer.render(SAMPLE_SLIP, context) == a5_pdf
    assert SlipRenderer().render(SAMPLE_SLIP, context) == a5_pdf
    document = reader(a5_pdf)
    assert "/ID" not in document.trailer
    assert document.metadata is not None
    assert str(document.metadata["/CreationDate"]) == "D:20261125143207+08'00"


def test_a_fresh_process_renders_the_same_bytes(renderer: SlipRenderer) -> None:
    script = (
        "import sys, hashlib\n"
        "from counter.slips import SlipRenderer\n"
        "from counter.slips.sample import sample_context\n"
        "pdf = SlipRenderer().render('pos_unbind', sample_context())\n"
        "sys.stdout.write(hashlib.sha256(pdf).hexdigest())\n"
    )
    here = renderer.render(SAMPLE_SLIP, sample_context())
    assert run_python(script) == hashlib.sha256(here).hexdigest()


def test_reprint_is_marked_with_number_and_time(
    renderer: SlipRenderer, context: SlipContext, a5_pdf: bytes
) -> None:
    mark = ReprintMark(number=2, printed_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
    reprint = renderer.render(SAMPLE_SLIP, context, reprint=mark)
    assert len(page_texts(reprint)) == 2  # the mark does not push a copy onto a third page
    for page_text in page_texts(reprint):
        assert "重打" in page_text and "REPRINT" in page_text
        assert "第 2 次" in page_text and "No. 2" in page_text
        assert "2026-12-01 09:30:00" in page_text
    assert "重打" not in all_text(a5_pdf)
    assert reprint != a5_pdf
    assert renderer.render(SAMPLE_SLIP, context, reprint=mark) == reprint


def test_settlement_card_change_shows_both_accounts_masked(renderer: SlipRenderer) -> None:
    context = slip_context(account_bound="6217001234567890")
    pdf = renderer.render("settlement_card_change", context)
    text = all_text(pdf)
    assert "622202*********0128" in text and "621700******7890" in text
    assert "原结算账户" in text and "新结算账户" in text
    assert "6217001234567890" not in text and RAW_ACCOUNT not in text


def _edited_error(
    renderer: SlipRenderer, file: str, old: str, new: str
) -> tuple[DefinitionError, str]:
    """The error rendering the sample raises once ``old`` is replaced by ``new`` in ``file``."""
    sources = slip_sources(SAMPLE_SLIP)
    assert old in sources[file]
    sources[file] = sources[file].replace(old, new)
    with pytest.raises(DefinitionError) as caught:
        renderer.render_from_sources(sources, SAMPLE_SLIP, slip_context())
    return caught.value, sources[file]


def test_a_missing_variable_is_an_error_naming_it(renderer: SlipRenderer) -> None:
    line = "<p>{{ merchant_nickname }}</p>"
    error, text = _edited_error(
        renderer, "pos_unbind.html.j2", "{% block rows %}", "{% block rows %}\n" + line
    )
    assert error.context["variable"] == "merchant_nickname"
    assert "merchant_nickname" in error.message.en
    assert "merchant_nickname" in error.message.zh
    assert error.file == "pos_unbind.html.j2"
    assert error.line == text.splitlines().index(line) + 1


def test_an_empty_value_is_an_error_naming_where(renderer: SlipRenderer) -> None:
    context = slip_context()  # no new account: the card change slip cannot print it
    with pytest.raises(DefinitionError) as caught:
        renderer.render("settlement_card_change", context)
    assert caught.value.file == "macros.html.j2"
    assert any(
        place.startswith("settlement_card_change.html.j2:")
        for place in caught.value.context["where"]
    )
    assert "None" in caught.value.message.en


def test_a_missing_attribute_is_an_error_naming_it(renderer: SlipRenderer) -> None:
    error, _ = _edited_error(
        renderer, "base.html.j2", "{{ teller_id }}", "{{ teller_id }} {{ customer.nickname }}"
    )
    assert error.context["variable"] == "nickname"
    assert error.file == "base.html.j2"


def test_a_template_syntax_error_names_file_and_line(renderer: SlipRenderer) -> None:
    error, text = _edited_error(
        renderer, "pos_unbind.html.j2", "{% endblock %}", "{% endblock %}\n{% if %}"
    )
    assert error.file == "pos_unbind.html.j2"
    assert error.line == text.splitlines().index("{% if %}") + 1


def test_an_old_template_version_renders_from_its_sources(renderer: SlipRenderer) -> None:
    sources = slip_sources(SAMPLE_SLIP)
    old = dict(sources)
    old["pos_unbind.html.j2"] = old["pos_unbind.html.j2"].replace("商户名称", "特约商户")
    text = all_text(renderer.render_from_sources(old, SAMPLE_SLIP, slip_context()))
    assert "特约商户" in text and "商户名称" not in text
    # The current files are untouched by the old version, and the other way round.
    current = renderer.render_from_sources(sources, SAMPLE_SLIP, slip_context())
    assert "商户名称" in all_text(current)


def test_the_customer_copy_carries_the_qr_code_of_the_status_url(a5_pdf: bytes) -> None:
    customer, bank = reader(a5_pdf).pages
    (image,) = customer.images  # the pages share one resource dictionary: see what they draw
    drawn = f"/{image.name.removesuffix('.png')} Do".encode()
    assert drawn in _content(customer) and drawn not in _content(bank)
    assert image.image is not None
    expected = segno.make(slip_context().status_url, error="m", micro=False)
    modules = [[bool(dark) for dark in row] for row in expected.matrix]
    pixels = image.image.convert("L")
    side = len(modules) * QR_MODULE_PIXELS
    assert pixels.size == (side, side)  # whole pixels per module, no border
    centre = QR_MODULE_PIXELS // 2
    printed = [
        [pixels.getpixel((x, y)) == 0 for x in range(centre, side, QR_MODULE_PIXELS)]
        for y in range(centre, side, QR_MODULE_PIXELS)
    ]
    assert printed == modules
    # Printed without smoothing, so that each module stays a sharp square.
    assert image.indirect_reference is not None
    assert image.indirect_reference.get_object()["/Interpolate"].value is False


def test_a_stored_template_that_prints_the_svg_qr_code_still_renders(
    renderer: SlipRenderer,
) -> None:
    sources = slip_sources(SAMPLE_SLIP)
    old = dict(sources)
    old["base.html.j2"] = old["base.html.j2"].replace(
        '<img class="qr" src="{{ qr_png }}" alt="">', '<div class="qr">{{ qr_svg }}</div>'
    )
    assert old["base.html.j2"] != sources["base.html.j2"]
    html = renderer.render_html(SAMPLE_SLIP, slip_context(), sources=old)
    assert '<svg viewBox="0 0 33 33" class="qr">' in html
    pdf = renderer.render_from_sources(old, SAMPLE_SLIP, slip_context())
    assert len(reader(pdf).pages) == 2
    assert b" Do" not in _content(reader(pdf).pages[0])  # a vector path, no image drawn


def test_unknown_template_and_format_are_refused(renderer: SlipRenderer) -> None:
    with pytest.raises(NotFound):
        renderer.render("no_such_slip", slip_context())
    with pytest.raises(ConfigurationError):
        renderer.render(SAMPLE_SLIP, slip_context(), fmt="a4")  # type: ignore[arg-type]


def test_weasyprint_reports_nothing_about_the_templates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Unsupported CSS or a missing font is only logged by WeasyPrint, not raised.
    renderer = SlipRenderer()
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        renderer.render(SAMPLE_SLIP, slip_context())
        renderer.render(SAMPLE_SLIP, slip_context(), fmt="roll80")
    assert [record.getMessage() for record in caplog.records] == []


def test_bilingual_texts_from_the_context_are_printed(renderer: SlipRenderer) -> None:
    context = slip_context(outcome=Text(zh="解绑处理中", en="Unbinding in progress"))
    text = all_text(renderer.render(SAMPLE_SLIP, context))
    assert "解绑处理中" in text and "Unbinding in progress" in text


def test_every_renderer_shares_the_process_font_configuration(renderer: SlipRenderer) -> None:
    assert SlipRenderer().font_config is renderer.font_config is shared_font_config()
    assert default_renderer() is default_renderer()


def test_templates_cannot_fetch_files_or_urls(
    renderer: SlipRenderer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    image, background = tmp_path / "image.svg", tmp_path / "background.svg"
    for path in (image, background):
        path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>')
    sources = slip_sources(SAMPLE_SLIP)
    sources["pos_unbind.html.j2"] = sources["pos_unbind.html.j2"].replace(
        "{% block rows %}", f'{{% block rows %}}<img src="{image.as_uri()}">'
    )
    sources["slip.css"] += f'\nbody {{ background: url("{background.as_uri()}"); }}\n'
    with caplog.at_level(logging.ERROR, logger="weasyprint"):
        renderer.render_from_sources(sources, SAMPLE_SLIP, slip_context())
    refused = " ".join(
        record.getMessage()
        for record in caplog.records
        if "disallowed protocol" in record.getMessage()
    )
    assert image.as_uri() in refused and background.as_uri() in refused
