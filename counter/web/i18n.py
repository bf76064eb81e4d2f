"""The console's message catalog: every word a teller reads, in Chinese and English.

Messages live in ``messages.yaml`` next to this module, one key per message
with a ``zh`` and an ``en`` text; templates and routes refer to keys only.
Texts may hold ``{name}`` placeholders filled by keyword arguments. Chinese is
the default language; English is chosen per user (remembered in the
database) or, before login, by a cookie.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from counter.text import Text

__all__ = ["DEFAULT_LANG", "LANGS", "MessageCatalog", "Translator", "catalog"]

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")
CATALOG_FILE = Path(__file__).with_name("messages.yaml")
# The words for the workflows' identifiers (finding codes, evidence keys, triggers).
VOCABULARY_FILE = Path(__file__).with_name("vocabulary.yaml")


class MessageCatalog:
    """Messages by key; an unknown key is an error, never a blank on the screen."""

    def __init__(self, messages: Mapping[str, Text]) -> None:
        self._messages = dict(messages)

    @classmethod
    def load(cls, *paths: Path) -> MessageCatalog:
        """The messages of ``paths`` (by default the console's two files); a key only once."""
        messages: dict[str, Text] = {}
        for path in paths or (CATALOG_FILE, VOCABULARY_FILE):
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError(f"{path}: expected a mapping of message keys")
            for key, value in raw.items():
                if str(key) in messages:
                    raise ValueError(f"{path}: message {key!r} is defined twice")
                messages[str(key)] = Text(**value)
        return cls(messages)

    def find(self, key: str, **values: Any) -> Text | None:
        """The message ``key`` if the catalog has it, else ``None``."""
        return self.text(key, **values) if key in self._messages else None

    def __contains__(self, key: object) -> bool:
        return key in self._messages

    def names(self) -> list[str]:
        return sorted(self._messages)

    def text(self, key: str, **values: Any) -> Text:
        """The message in both languages, placeholders filled."""
        message = self._messages[key]
        if not values:
            return message
        return Text(zh=message.zh.format(**values), en=message.en.format(**values))

    def get(self, key: str, lang: str, **values: Any) -> str:
        """The message in ``lang`` only, placeholders filled (pages call this for every word)."""
        chosen = self._messages[key].pick(lang)
        return chosen.format(**values) if values else chosen


class Translator:
    """The catalog bound to one language; templates call it as ``_("key")``."""

    def __init__(self, messages: MessageCatalog, lang: str) -> None:
        self.messages = messages
        self.lang = lang if lang in LANGS else DEFAULT_LANG

    def __call__(self, key: str, **values: Any) -> str:
        return self.messages.get(key, self.lang, **values)

    def pick(self, text: Text | Mapping[str, str] | None) -> str:
        """A bilingual value from a definition or an error, in this language."""
        if text is None:
            return ""
        if isinstance(text, Text):
            return text.pick(self.lang)
        return str(text.get(self.lang) or text.get(DEFAULT_LANG) or "")


@lru_cache(maxsize=1)
def catalog() -> MessageCatalog:
    return MessageCatalog.load()
