"""The pt-BR catalog is complete and consistent, and the compiled .mo the server reads is the .po's.

The .mo is committed (CI never compiles). After `makemessages` (see README, "Translations"),
translate, then compile with `msgfmt --check -o locale/pt_BR/LC_MESSAGES/django.mo
locale/pt_BR/LC_MESSAGES/django.po`: these tests say what was forgotten.
"""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest

from tests.i18n.catalog import PT_BR_MO, PT_BR_PO, Entry, placeholders, problems, read_po


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return read_po(PT_BR_PO)


def write_po(tmp_path: Path, body: str) -> list[Entry]:
    path = tmp_path / "django.po"
    path.write_text('msgid ""\nmsgstr ""\n"Language: pt_BR\\n"\n\n' + body, encoding="utf-8")
    return read_po(path)


# ---- the checks themselves, on small catalogs ----------------------------------------------------------


def test_the_reader_joins_continued_lines_and_reads_escapes_flags_and_plurals(tmp_path):
    entries = write_po(
        tmp_path,
        "#, python-format\n"
        'msgid ""\n"Order %(order)s "\n"saved."\n'
        'msgstr "Pedido %(order)s \\"salvo\\"."\n\n'
        'msgid "%(count)s item"\nmsgid_plural "%(count)s items"\n'
        'msgstr[0] "%(count)s item"\nmsgstr[1] "%(count)s itens"\n',
    )

    assert [entry.msgid for entry in entries] == ["", "Order %(order)s saved.", "%(count)s item"]
    assert entries[1].msgstr == ['Pedido %(order)s "salvo".'] and entries[1].flags == {"python-format"}
    assert entries[2].msgid_plural == "%(count)s items" and entries[2].msgstr == ["%(count)s item", "%(count)s itens"]


def test_a_fuzzy_an_empty_or_a_half_translated_plural_entry_is_reported(tmp_path):
    entries = write_po(
        tmp_path,
        '#, fuzzy\nmsgid "Back"\nmsgstr "Voltar"\n\n'
        'msgid "Cancel"\nmsgstr ""\n\n'
        'msgid "%(count)s order"\nmsgid_plural "%(count)s orders"\nmsgstr[0] "%(count)s pedido"\nmsgstr[1] ""\n',
    )

    found = problems(entries)

    assert any("'Back': fuzzy" in problem for problem in found)
    assert any("'Cancel': not translated" in problem for problem in found)
    assert any("'%(count)s order': not translated" in problem for problem in found)


def test_a_lost_renamed_or_retyped_placeholder_or_tag_is_reported(tmp_path):
    entries = write_po(
        tmp_path,
        'msgid "Order %(order)s: %(error)s"\nmsgstr "Pedido %(pedido)s: %(error)s"\n\n'
        'msgid "There is no order %(id)r."\nmsgstr "Não existe pedido %(id)s."\n\n'
        'msgid "Total <strong>%(total)s</strong>"\nmsgstr "Total %(total)s"\n\n'
        'msgid "100%% sent"\nmsgstr "100%% enviado"\n',
    )

    found = problems(entries)

    assert any("%(order)s" in problem and "%(pedido)s" in problem for problem in found)
    assert any("%(id)r" in problem for problem in found)
    assert any("HTML" in problem and "<strong>" in problem for problem in found)
    assert not any("100%%" in problem for problem in found)  # "%%" is a percent sign, not a placeholder
    assert placeholders("%(a)s and %(b)d, 100%%") == ["%(a)s", "%(b)d"]


def test_a_line_the_reader_does_not_understand_names_its_line(tmp_path):
    with pytest.raises(ValueError, match="django.po:7"):
        write_po(tmp_path, 'msgid "Back"\nmsgstr "Voltar"\nthis is not po\n')


# ---- the project's catalog -----------------------------------------------------------------------------


def test_the_catalog_has_the_portuguese_header_and_plural_rule(entries):
    header = entries[0]
    assert header.is_header and "fuzzy" not in header.flags
    assert "Language: pt_BR" in header.msgstr[0]
    assert "charset=UTF-8" in header.msgstr[0]
    # Brazilian Portuguese: singular for 0 and 1, plural from 2 on.
    assert "Plural-Forms: nplurals=2; plural=(n > 1);" in header.msgstr[0]


def test_the_catalog_covers_the_admin_the_forms_and_the_api(entries):
    msgids = {entry.msgid for entry in entries}
    # One string from each part that must be translated: a model's choice, a form label, a service's
    # field error, the cancellation page, an API error, the language switch.
    for msgid in (
        "Received (VTEX not yet told)",
        "Invoice number",
        "The invoice number is required.",
        "Yes, ask VTEX to cancel",
        "There is no order %(order)r.",
        "Change language",
    ):
        assert msgid in msgids


def test_every_entry_is_translated_with_its_placeholders_and_tags(entries):
    found = problems(entries)
    assert not found, "locale/pt_BR/LC_MESSAGES/django.po:\n" + "\n".join(found)


def test_the_compiled_catalog_is_the_po_file():
    """What the server reads (the .mo, here through the stdlib's gettext) holds exactly the .po's
    translations: a .po edited without recompiling fails here."""
    with PT_BR_MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    expected: dict[object, str] = {}
    for entry in read_po(PT_BR_PO):
        if entry.is_header:
            continue
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[key] = entry.msgstr[0]
        else:
            for position, translation in enumerate(entry.msgstr):
                expected[(key, position)] = translation
    actual = {key: value for key, value in compiled._catalog.items() if key != ""}  # "" is the header
    missing = sorted(str(key) for key in expected.keys() - actual.keys())
    extra = sorted(str(key) for key in actual.keys() - expected.keys())
    changed = sorted(str(key) for key in expected.keys() & actual.keys() if expected[key] != actual[key])
    assert not (missing or extra or changed), (
        "locale/pt_BR/LC_MESSAGES/django.mo is out of date with django.po; recompile it "
        f"(missing: {missing[:5]}, extra: {extra[:5]}, changed: {changed[:5]})"
    )
