"""The committed catalog holds every string the code marks for translation, and no stale one.

`make messages` is run on a copy of the sources (so the tree is not touched) and the entries it
extracts are compared with the committed .po: a string wrapped in `_()` or `{% translate %}` but
never extracted and translated would otherwise show in English to pt-BR staff without any test
noticing. Needs GNU gettext's xgettext (Debian's `gettext`); CI requires it (REQUIRE_GETTEXT=1).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from tests.conftest import skip_or_fail
from tests.i18n.catalog import PROJECT_ROOT, PT_BR_PO, read_po

SOURCES = ("Makefile", "manage.py", "pyproject.toml", "erp_bridge", "integration", "templates", "locale")


def keys(path) -> set[tuple[str | None, str]]:
    return {(entry.msgctxt, entry.msgid) for entry in read_po(path) if not entry.is_header}


def test_make_messages_finds_exactly_the_strings_of_the_committed_catalog(tmp_path):
    if shutil.which("xgettext") is None or shutil.which("make") is None:
        skip_or_fail("GNU gettext (xgettext) or make is not installed", required_by="REQUIRE_GETTEXT")
    for name in SOURCES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tmp_path / name)

    # -o: the copy has no .venv; the Makefile's own command runs with this interpreter.
    result = subprocess.run(
        ["make", "-s", "messages", f"PY={sys.executable}", "-o", ".venv/.installed"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    extracted = keys(tmp_path / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po")
    committed = keys(PT_BR_PO)
    missing, stale = extracted - committed, committed - extracted
    assert not missing, "strings marked for translation but not in the catalog (run make messages, translate):\n" + (
        "\n".join(repr(msgid) for _, msgid in sorted(missing, key=str))
    )
    assert not stale, "catalog entries no code uses any more (run make messages):\n" + "\n".join(
        repr(msgid) for _, msgid in sorted(stale, key=str)
    )
