"""The French and English catalogs are complete and up to date with the code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LOCALE = ROOT / "comptoir" / "locale"


def _entries(po: Path) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of a .po file, plural forms joined; the header left out."""
    text = po.read_text(encoding="utf-8")
    entries = []
    for block in re.split(r"\n\s*\n", text):
        fuzzy = "#, fuzzy" in block or ", fuzzy" in block
        msgid = _field(block, "msgid")
        if msgid is None or msgid == "":
            continue
        msgstr = _field(block, "msgstr") or _field(block, r"msgstr\[0\]") or ""
        if _field(block, "msgid_plural") is not None:
            msgstr = "".join(_field(block, rf"msgstr\[{i}\]") or "" for i in range(2)) and msgstr
        entries.append((msgid, msgstr, fuzzy))
    return entries


def _field(block: str, name: str) -> str | None:
    m = re.search(rf'^{name} ((?:"(?:[^"\\]|\\.)*"\s*)+)', block, re.M)
    if m is None:
        return None
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_catalog_has_a_translation_for_every_string(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    entries = _entries(po)
    assert len(entries) > 50
    missing = [msgid for msgid, msgstr, _ in entries if not msgstr]
    fuzzy = [msgid for msgid, _, f in entries if f]
    assert not missing, f"untranslated in {language}: {missing[:10]}"
    assert not fuzzy, f"fuzzy in {language}: {fuzzy[:10]}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools not installed")
def test_catalogs_list_every_string_the_code_uses(tmp_path):
    # Extract into a copy of the sources, so the committed catalogs are not touched.
    copy = tmp_path / "comptoir"
    shutil.copytree(
        ROOT / "comptoir",
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "tests", "static", "migrations"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "fr",
            "--no-obsolete",
            "--no-location",
            "-i",
            "comptoir/testing/*",
            "-i",
            "var/*",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        # PYTHONPATH at the copy: its settings point LOCALE_PATHS at the copy's catalogs.
        env={
            "DJANGO_SETTINGS_MODULE": "comptoir.settings",
            "PYTHONPATH": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "COMPTOIR_DATA_DIR": str(tmp_path / "var"),
        },
    )
    extracted = {m for m, _, _ in _entries(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po")}
    committed = {m for m, _, _ in _entries(LOCALE / "fr" / "LC_MESSAGES" / "django.po")}
    assert not extracted - committed, f"run makemessages: {sorted(extracted - committed)[:10]}"


def test_french_is_the_default_and_english_switchable(client):
    from django.utils import translation

    with translation.override("fr"):
        assert translation.gettext("Inbox") != "Inbox"
    with translation.override("en"):
        assert translation.gettext("Inbox") == "Inbox"
