"""Input fields that take exactly what the OpenAPI schema says, so that a client generated from
/api/schema/ and the server agree in both directions.

DRF's own fields are lenient in ways the schema cannot say: an IntegerField takes "5" and 5.0, a
CharField takes 123 and checks its length after trimming, a BooleanField takes "yes" and 1. Each
field here refuses what its schema refuses, and its schema (through the validators drf-spectacular
reads, or an extension below) states every rule it enforces.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

#: The characters str.strip() removes, written out: "\s" means other sets in other regex dialects
#: (ECMA's, which the schema's patterns follow, leaves out \x1c-\x1f and \x85), so a pattern with
#: "\s" would let a generated client send what the server then trims away.
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: No NUL anywhere (PostgreSQL cannot store it) and at least one character that is not a space.
NOT_BLANK = rf"^[^\x00]*[^{SPACE}\x00][^\x00]*\Z"
#: No NUL, not empty (an empty value is the schema's other branch: drf-spectacular writes a field that
#: may be blank as oneOf [pattern, maxLength 0], so the pattern must not match "" too).
NO_NUL = r"^[^\x00]+\Z"


def at_least(characters: int) -> str:
    """At least this many characters once the spaces around are trimmed (and no NUL)."""
    return rf"^[{SPACE}]*[^{SPACE}\x00][^\x00]{{{characters - 2},}}[^{SPACE}\x00][{SPACE}]*\Z"


class Text(serializers.CharField):
    """A JSON string, its length counted as sent (before trimming), no NUL; not blank unless allowed.

    `min_trimmed` asks for that many characters after trimming (the schema says it with a pattern
    and minLength).
    """

    default_error_messages = {
        "pattern": gettext_lazy("Give text without NUL characters and not only spaces."),
        "too_short": gettext_lazy("Give at least %(min)s characters (not counting spaces around them)."),
    }

    def __init__(
        self, *, min_trimmed: int | None = None, pattern: str | None = None, pattern_message: str = "", **kwargs: Any
    ) -> None:
        if min_trimmed:
            kwargs.setdefault("min_length", min_trimmed)
        super().__init__(**kwargs)
        if pattern:  # a format of its own (e.g. 44 digits); it must exclude NUL itself
            self.validators.append(RegexValidator(pattern, message=pattern_message or self.error_messages["pattern"]))
        elif min_trimmed:
            message = self.error_messages["too_short"] % {"min": min_trimmed}
            self.validators.append(RegexValidator(at_least(min_trimmed), message=message))
        else:
            pattern = NO_NUL if self.allow_blank else NOT_BLANK
            self.validators.append(RegexValidator(pattern, message=self.error_messages["pattern"]))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            # DRF would count after trimming; the schema's maxLength counts what was sent.
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class Integer(serializers.IntegerField):
    """A JSON integer: not a string of digits, not 5.0, not true."""

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    """A JSON true or false: not "yes", not 1."""

    def to_internal_value(self, data: Any) -> bool:
        if type(data) is not bool:
            self.fail("invalid")
        return data


class QueryInteger(serializers.IntegerField):
    """An integer in a query string: digits, optionally signed; not "5.0" or " 5"."""

    DIGITS = re.compile(r"[+-]?[0-9]{1,20}\Z")

    def to_internal_value(self, data: Any) -> int:
        if not (isinstance(data, str) and self.DIGITS.match(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryBoolean(serializers.BooleanField):
    """A boolean in a query string, written as OpenAPI clients write it: true or false."""

    default_error_messages = {"invalid": gettext_lazy("Give true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if data not in ("true", "false"):
            self.fail("invalid")
        return data == "true"


class AwareDateTimeField(serializers.DateTimeField):
    """RFC 3339 / ISO 8601 with a UTC offset ("Z" or "-03:00"): a time without one is ambiguous
    between systems.

    Times that are stored must be written in the years 2000 to 2999: an earlier one is a typo, and
    shown in the store's time zone it would carry a local-mean-time offset with seconds, which is not
    valid ISO 8601; a later one is a typo too. The schema says so with a pattern on the year. A
    filter (stored=False) takes any time and treats one beyond the calendar's ends as that end.
    """

    EARLIEST_YEAR, LATEST_YEAR = 2000, 2999
    default_error_messages = {
        "invalid_type": gettext_lazy("Give the time as a string, e.g. 2024-05-02T15:00:00-03:00."),
        "naive": gettext_lazy(
            "Give the time with its UTC offset, e.g. 2024-05-02T15:00:00-03:00 or 2024-05-02T18:00:00Z."
        ),
        "too_early": gettext_lazy("The time must be from 2000-01-01 on."),
        "too_late": gettext_lazy("The time must be before the year 3000."),
    }

    def __init__(self, *, stored: bool = True, **kwargs: Any) -> None:
        self.stored = stored
        super().__init__(default_timezone=UTC, **kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid_type")
        # RFC 3339 lets the "T" and "Z" be written in lower case; Python's parser wants them upper.
        return super().to_internal_value(value.upper())

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        if self.stored and value.year < self.EARLIEST_YEAR:  # the year as written, as the schema's pattern
            self.fail("too_early")
        if self.stored and value.year > self.LATEST_YEAR:
            self.fail("too_late")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            # Only a bound can reach past year 1 or 9999 in UTC: it then means "from the start" or "after all".
            return datetime.min.replace(tzinfo=UTC) if value.year < 2 else datetime.max.replace(tzinfo=UTC)


class AwareDateTimeScheme(OpenApiSerializerFieldExtension):
    target_class = AwareDateTimeField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request" and self.target.stored:
            schema["pattern"] = r"^2[0-9]{3}-"
        return schema
