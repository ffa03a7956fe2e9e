"""A small reader of GNU gettext .po files, enough for the checks of tests/i18n (polib is not a
dependency): entries with their context, msgid, plural, translations and flags."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = PROJECT_ROOT / "locale"
PT_BR_PO = LOCALE_DIR / "pt_BR" / "LC_MESSAGES" / "django.po"
PT_BR_MO = PT_BR_PO.with_suffix(".mo")

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')
#: Python's %-format placeholders: %(name)s, %(id)r, %s, %d; "%%" is a literal percent sign.
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]+)\))?[-#0 +]*\d*(?:\.\d+)?(?P<kind>[sdrifgeEx%])")
#: HTML tags in a message (a translation must keep <strong> and links); "<name>" in a help text is
#: not one, hence the list of the tags messages use.
_TAG = re.compile(r"</?(?:a|b|br|code|em|i|span|strong)\b[^>]*>")


@dataclass
class Entry:
    msgid: str
    line: int
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def label(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


def _unquote(literal: str, *, where: str) -> str:
    # A .po string is a C string; Python's string literal syntax reads the escapes .po files use.
    value = ast.literal_eval(literal)
    if not isinstance(value, str):
        raise ValueError(f"{where}: not a string: {literal}")
    return value


def read_po(path: Path) -> list[Entry]:
    """Every entry of the file, the header first. Raises ValueError naming the line of a line it cannot read."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None
    flags: set[str] = set()

    def start(line_number: int) -> Entry:
        nonlocal flags
        new = Entry(msgid="", line=line_number, flags=flags)
        flags = set()
        entries.append(new)
        return new

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        where = f"{path.name}:{number}"
        if not line:
            target = None
            continue
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, literal = match[1], match[2], match[3]
            text = _unquote(literal, where=where)
            # An entry starts at its msgctxt, or at its msgid unless that follows the entry's msgctxt.
            if keyword == "msgctxt" or (
                keyword == "msgid" and (entry is None or target is None or target[0] == "msgstr")
            ):
                entry = start(number)
            if entry is None:
                raise ValueError(f"{where}: {keyword} before any msgid")
            if keyword == "msgctxt":
                entry.msgctxt, target = text, ("msgctxt", 0)
            elif keyword == "msgid":
                entry.msgid, target = text, ("msgid", 0)
            elif keyword == "msgid_plural":
                entry.msgid_plural, target = text, ("msgid_plural", 0)
            else:
                position = int(index) if index is not None else 0
                while len(entry.msgstr) <= position:
                    entry.msgstr.append("")
                entry.msgstr[position], target = text, ("msgstr", position)
            continue
        if line.startswith('"') and entry is not None and target is not None:
            text = _unquote(line, where=where)
            kind, position = target
            if kind == "msgctxt":
                entry.msgctxt = (entry.msgctxt or "") + text
            elif kind == "msgid":
                entry.msgid += text
            elif kind == "msgid_plural":
                entry.msgid_plural = (entry.msgid_plural or "") + text
            else:
                entry.msgstr[position] += text
            continue
        raise ValueError(f"{where}: cannot read {raw!r}")
    return entries


def placeholders(text: str) -> list[str]:
    """The %-placeholders of a message, sorted ("%(order)s", "%(id)r"), without "%%"."""
    found = []
    for match in _PLACEHOLDER.finditer(text):
        if match["kind"] == "%":
            continue
        found.append(f"%({match['name']}){match['kind']}" if match["name"] else f"%{match['kind']}")
    return sorted(found)


def tags(text: str) -> list[str]:
    """The HTML tags of a message, sorted, with attribute values (a link's %(url)s) included."""
    return sorted(_TAG.findall(text))


def problems(entries: list[Entry]) -> list[str]:
    """What makes a catalog unfit to ship: fuzzy or untranslated entries, a plural without both
    forms, a translation whose placeholders or HTML tags differ from its msgid's."""
    found = []
    for entry in entries:
        if entry.is_header:
            continue
        if "fuzzy" in entry.flags:
            found.append(f"{entry.label}: fuzzy (check the translation and remove the flag)")
        if not entry.msgstr or not all(entry.msgstr):
            found.append(f"{entry.label}: not translated")
            continue
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        if len(entry.msgstr) != len(sources):
            found.append(f"{entry.label}: {len(entry.msgstr)} forms for {len(sources)}")
        for position, translation in enumerate(entry.msgstr):
            source = sources[min(position, len(sources) - 1)]
            if placeholders(translation) != placeholders(source):
                found.append(
                    f"{entry.label} [{position}]: placeholders {placeholders(source)} "
                    f"became {placeholders(translation)}"
                )
            if tags(translation) != tags(source):
                found.append(f"{entry.label} [{position}]: HTML {tags(source)} became {tags(translation)}")
    return found
