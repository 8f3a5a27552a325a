"""Every UI string has its Chinese translation (the manual's wording) in resources/i18n."""

from __future__ import annotations

from bts_desk.ui.i18n import LANGUAGES, untranslated


def test_every_ui_string_is_translated() -> None:
    for language in LANGUAGES:
        assert untranslated(language) == []
