"""Bilingual text: everything a teller or customer reads is Chinese first, English available."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Text"]


class Text(BaseModel):
    """A message in Chinese (shown by default) and English."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"

    def pick(self, lang: str) -> str:
        """The text in ``lang`` ("zh" or "en"); Chinese for anything else."""
        return self.en if lang == "en" else self.zh
