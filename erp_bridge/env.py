"""Typed readers for settings that come from the environment.

Every setting of erp-bridge is read here once, so a wrong value fails at start-up with a
message that names the variable and the rule, instead of deep inside a request.

Names (docs/configuration.md): the prefix says what a variable configures (``DJANGO_`` Django
itself, ``VTEX_`` the dealings with VTEX, ``Q_`` the django-q2 cluster, ``ERP_BRIDGE_`` erp-bridge's
own rules; ``DATABASE_URL`` is the one name without a prefix), and every duration is in seconds
with a name ending in ``_S``. A renamed variable is still read under its old name for one release:
pass ``old=`` and the old name works, with a warning logged once, and the new name wins when both
are set.
"""

import ipaddress
import logging
import os

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

#: Old names already warned about in this process (the warning is logged once per name).
_warned: set[str] = set()

#: Units the code counts some durations in; the ``_S`` variable must then be a whole number of them.
MINUTE, HOUR, DAY = 60, 3600, 86400
UNIT_NAMES = {1: "seconds", MINUTE: "minutes", HOUR: "hours", DAY: "days"}


def _is_set(raw: str | None) -> bool:
    return raw is not None and raw.strip() != ""


def _lookup(name: str, old: str | None) -> tuple[str, str | None]:
    """The raw value and the variable it came from: ``name``, else the deprecated ``old`` name.

    A blank variable counts as unset when deciding between the two names.
    """
    raw = os.environ.get(name)
    if old is None:
        return name, raw
    old_raw = os.environ.get(old)
    if not _is_set(old_raw):
        return name, raw
    if _is_set(raw):
        _deprecated(old, f"{old} is ignored: {name}, its new name, is set too and wins. Remove {old}.")
        return name, raw
    _deprecated(old, f"{old} is deprecated and will not be read after the next release: rename it {name}.")
    return old, old_raw


def _deprecated(old: str, message: str) -> None:
    if old not in _warned:
        _warned.add(old)
        logger.warning("%s (docs/configuration.md)", message)


def env_str(name: str, default: str = "", *, old: str | None = None) -> str:
    _source, raw = _lookup(name, old)
    return (default if raw is None else raw).strip()


def env_bool(name: str, default: bool, *, old: str | None = None) -> bool:
    source, raw = _lookup(name, old)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{source} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None, old: str | None = None) -> int:
    source, raw = _lookup(name, old)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{source} must be a whole number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{source} must be at least {minimum}; got {value}.")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None, old: str | None = None) -> float:
    source, raw = _lookup(name, old)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{source} must be a number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{source} must be at least {minimum}; got {value}.")
    return value


def env_duration(name: str, default_s: int, *, unit: int = 1, minimum_s: int = 1, old: str | None = None) -> int:
    """A duration given in seconds (``name`` ends in ``_S``), returned in ``unit`` (the unit the code
    counts it in: 1, MINUTE, HOUR or DAY); it must then be a whole number of that unit.

    ``old`` is the variable it replaces, which was given in ``unit`` itself (``VTEX_PULL_EVERY_MINUTES``
    for ``VTEX_PULL_EVERY_S`` counted in minutes), so its value is taken as it is.
    """
    source, _raw = _lookup(name, old)
    if source != name:
        return env_int(source, default_s // unit, minimum=-(-minimum_s // unit))
    seconds = env_int(name, default_s, minimum=minimum_s)
    if seconds % unit:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of {UNIT_NAMES[unit]} (a multiple of {unit} seconds); got {seconds}."
        )
    return seconds // unit


def env_choice(name: str, default: str, choices: tuple[str, ...], *, old: str | None = None) -> str:
    source, raw = _lookup(name, old)
    value = (raw or "").strip() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{source} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def env_list(name: str, default: list[str], *, old: str | None = None) -> list[str]:
    _source, raw = _lookup(name, old)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated networks in CIDR notation (``10.0.0.0/8, 192.168.1.7``; a bare address is one
    host). Empty: none."""
    networks = []
    for part in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list networks like 10.0.0.0/8 or 192.168.1.7, separated by commas; got {part!r}."
            ) from None
    return networks


CACHE_SCHEMES = ("locmem", "redis", "rediss", "db")


def env_cache(name: str) -> dict:
    """The default cache from a URL: ``locmem://`` (the default: per process), ``redis://host:port/db``
    or ``db://table`` (Django's database cache; create the table with ``manage.py createcachetable``).

    It matters once several web processes serve the API: its per-user throttle counts in this cache,
    and a per-process cache lets each process count on its own.
    """
    raw = env_str(name, "locmem://") or "locmem://"
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme not in CACHE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must start with one of {', '.join(s + '://' for s in CACHE_SCHEMES)}; got {scheme!r}."
        )
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": rest or "erp-bridge"}
    if scheme == "db":
        if not rest.isidentifier():
            raise ImproperlyConfigured(f"{name}: db://<table> needs a table name made of letters, digits and _.")
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": rest}
    try:
        import redis  # noqa: F401  (Django's Redis backend needs the redis package)
    except ImportError:
        raise ImproperlyConfigured(
            f"{name} names Redis, but the redis package is not installed (pip install 'erp-bridge[production]')."
        ) from None
    if not rest.split("/")[0]:
        raise ImproperlyConfigured(f"{name}: {scheme}://host:port/db needs a host.")
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": raw}
