"""Typed readers for settings that come from the environment.

Every setting of erp-bridge is read here once, so a wrong value fails at start-up with a
message that names the variable and the rule, instead of deep inside a request.
"""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


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
