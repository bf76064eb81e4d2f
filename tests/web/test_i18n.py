"""The message catalog: both languages for every key, and every key used in a template exists."""

from __future__ import annotations

import re
from pathlib import Path

from counter.web.i18n import MessageCatalog, Translator, catalog

TEMPLATES = Path(__file__).resolve().parents[2] / "counter" / "web" / "templates"


def test_every_message_has_chinese_and_english() -> None:
    messages = catalog()
    for key in messages.names():
        text = messages.text(key)
        assert text.zh.strip() and text.en.strip(), key


def test_every_key_a_template_names_is_in_the_catalog() -> None:
    messages = catalog()
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(
            re.findall(r"""_\(\s*["']([a-z0-9_.]*[a-z0-9_])["']""", template.read_text("utf-8"))
        )
    assert used, "templates name no message keys?"
    assert sorted(key for key in used if key not in messages) == []


def test_templates_hold_no_chinese_text() -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    for template in TEMPLATES.glob("*.html"):
        assert not han.search(template.read_text("utf-8")), template.name


def test_translator_falls_back_to_chinese() -> None:
    messages = MessageCatalog.load()
    assert Translator(messages, "fr")("login.title") == "登录"
    assert Translator(messages, "en")("login.title") == "Sign in"
