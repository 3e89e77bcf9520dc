"""Errors meant for people: what failed and why, in Chinese and English."""

from __future__ import annotations


class WotuError(Exception):
    """A refusal a user can act on. ``zh`` and ``en`` say the same thing."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
