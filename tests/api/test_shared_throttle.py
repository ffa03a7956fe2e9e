"""The API throttle shared by several web processes (DJANGO_CACHE_URL), and the cache URL's rules."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from erp_bridge.env import env_cache
from tests.conftest import PROJECT_ROOT, skip_or_fail

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Another process (a second gunicorn worker, say) asks the same throttle about the same user.
OTHER_PROCESS = """
from types import SimpleNamespace
from integration.api.permissions import ApiUserThrottle
user = SimpleNamespace(pk={pk}, is_authenticated=True)
request = SimpleNamespace(user=user, META={{"REMOTE_ADDR": "10.0.0.2"}})
print([ApiUserThrottle().allow_request(request, None) for _ in range(2)])
"""


@pytest.fixture
def redis_cache(settings):
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 (any failure means: no Redis here)
        skip_or_fail(f"Redis not reachable at {REDIS_URL}: {exc}", required_by="REQUIRE_REDIS")
    prefix = f"erp-bridge-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {**env_cache_from(REDIS_URL), "KEY_PREFIX": prefix}}
    yield prefix
    from django.core.cache import cache

    cache.clear()


def env_cache_from(url: str) -> dict:
    os.environ["TEST_CACHE_URL"] = url
    try:
        return env_cache("TEST_CACHE_URL")
    finally:
        del os.environ["TEST_CACHE_URL"]


def test_two_processes_count_one_users_requests_together_through_redis(api, erp_user, redis_cache, settings):
    settings.API_THROTTLE_RATE = "3/min"
    assert [api.get("/api/v1/orders/").status_code for _ in range(2)] == [200, 200]

    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(DJANGO_CACHE_URL=REDIS_URL, ERP_BRIDGE_API_THROTTLE_RATE="3/min")
    # The key prefix is the test's own, so the other process needs it too.
    code = f"from django.conf import settings; settings.CACHES['default']['KEY_PREFIX'] = {redis_cache!r}\n"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "manage.py"), "shell", "-c", code + OTHER_PROCESS.format(pk=erp_user.pk)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    # The third request of the minute is allowed, the fourth refused: the count was shared.
    assert result.stdout.strip().splitlines()[-1] == "[True, False]"
    assert api.get("/api/v1/orders/").status_code == 429


@pytest.mark.parametrize(
    ("url", "backend", "location"),
    [
        ("locmem://", "django.core.cache.backends.locmem.LocMemCache", "erp-bridge"),
        ("redis://cache:6379/2", "django.core.cache.backends.redis.RedisCache", "redis://cache:6379/2"),
        ("db://erp_bridge_cache", "django.core.cache.backends.db.DatabaseCache", "erp_bridge_cache"),
    ],
)
def test_the_cache_url_selects_the_backend(url, backend, location):
    assert env_cache_from(url) == {"BACKEND": backend, "LOCATION": location}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcached://x:11211", "TEST_CACHE_URL must start with one of locmem://, redis://, rediss://, db://"),
        ("redis", "TEST_CACHE_URL must start with one of"),
        ("db://drop table;", "TEST_CACHE_URL: db://<table> needs a table name"),
        ("redis:///0", "TEST_CACHE_URL: redis://host:port/db needs a host"),
    ],
)
def test_a_wrong_cache_url_is_refused_with_the_variable_and_the_rule(url, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        env_cache_from(url)
