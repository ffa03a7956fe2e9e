"""The production bundle, as far as it runs without Docker: the entry point script under sh with a
fake python, wait_for_db, the settings under compose.yaml's environment (check --deploy), the
image's web command under gunicorn answering Docker's health check.

Not tested here (no Docker daemon): building the image and running compose.yaml
(docs/operations.md "The container bundle")."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

ENTRYPOINT = PROJECT_ROOT / "docker" / "entrypoint.sh"
SH = shutil.which("dash") or "/bin/sh"


def clean_environment(**env: str) -> dict[str, str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "VTEX_", "ERP_BRIDGE_", "SENTRY_", "DATABASE_URL", "Q_"))
    }
    environment.update(env)
    return environment


# ---- docker/entrypoint.sh ------------------------------------------------------------------------------


@pytest.fixture
def fake_python(tmp_path) -> Path:
    """A `python` first on PATH that writes its arguments to a log and exits with $FAKE_PYTHON_EXIT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "python"
    script.write_text('#!/bin/sh\necho "$*" >> "$FAKE_PYTHON_LOG"\nexit "${FAKE_PYTHON_EXIT:-0}"\n')
    script.chmod(0o755)
    return bin_dir


def entrypoint(fake_python: Path, *command: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = fake_python.parent / "python.log"
    log.unlink(missing_ok=True)
    environment = clean_environment(PATH=f"{fake_python}:{os.environ['PATH']}", FAKE_PYTHON_LOG=str(log), **env)
    result = subprocess.run(
        [SH, str(ENTRYPOINT), *command], env=environment, capture_output=True, text=True, timeout=30
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_entrypoint_waits_for_the_database_then_runs_the_command(fake_python):
    result, calls = entrypoint(fake_python, "sh", "-c", 'echo "command ran with $*"', "sh", "a b", "c")
    assert result.returncode == 0, result.stderr
    assert calls == ["manage.py wait_for_db --timeout 60"]
    assert result.stdout.strip() == "command ran with a b c"


@pytest.mark.parametrize("value", ["1", "true", "ON", "yes"])
def test_entrypoint_migrates_only_when_asked(fake_python, value):
    result, calls = entrypoint(fake_python, "true", ERP_BRIDGE_MIGRATE_ON_START=value, ERP_BRIDGE_DB_WAIT_S="5")
    assert result.returncode == 0, result.stderr
    assert calls == ["manage.py wait_for_db --timeout 5", "manage.py migrate --noinput"]


@pytest.mark.parametrize("value", ["0", "no", "", "off"])
def test_entrypoint_does_not_migrate_otherwise(fake_python, value):
    _result, calls = entrypoint(fake_python, "true", ERP_BRIDGE_MIGRATE_ON_START=value)
    assert calls == ["manage.py wait_for_db --timeout 60"]


def test_entrypoint_can_skip_the_wait(fake_python):
    _result, calls = entrypoint(fake_python, "true", ERP_BRIDGE_DB_WAIT_S="0")
    assert calls == []


def test_entrypoint_stops_when_the_database_never_answers(fake_python):
    result, calls = entrypoint(
        fake_python, "sh", "-c", "echo should-not-run", ERP_BRIDGE_MIGRATE_ON_START="1", FAKE_PYTHON_EXIT="1"
    )
    assert result.returncode == 1
    assert calls == ["manage.py wait_for_db --timeout 60"]  # no migrate, no command
    assert "should-not-run" not in result.stdout


def test_entrypoint_without_a_command_fails(fake_python):
    result, _calls = entrypoint(fake_python)
    assert result.returncode == 64
    assert "no command given" in result.stderr


def test_entrypoint_execs_the_command_so_it_gets_the_signals(fake_python, tmp_path):
    """exec: the command takes the entry point's PID (PID 1 in a container) and SIGTERM sent to
    that PID reaches it, as `docker stop` does."""
    log = tmp_path / "python.log"
    process = subprocess.Popen(
        [
            SH,
            str(ENTRYPOINT),
            "sh",
            "-c",
            'trap "echo got-sigterm; exit 0" TERM; echo "pid $$"; while :; do sleep 0.05; done',
        ],
        env=clean_environment(PATH=f"{fake_python}:{os.environ['PATH']}", FAKE_PYTHON_LOG=str(log)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline().strip()
        assert first == f"pid {process.pid}"
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    finally:
        process.kill()
    assert out.strip() == "got-sigterm"
    assert process.returncode == 0


def test_entrypoint_is_posix_sh():
    assert subprocess.run([SH, "-n", str(ENTRYPOINT)]).returncode == 0
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    assert os.access(ENTRYPOINT, os.X_OK)


# ---- wait_for_db ----------------------------------------------------------------------------------------


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "manage.py"), *args],
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )


def test_wait_for_db_returns_when_the_database_answers(tmp_path):
    result = manage("wait_for_db", "--timeout", "5", DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    assert result.returncode == 0, result.stderr
    assert "the database answers (sqlite, after 1 tries)" in result.stdout


def test_wait_for_db_gives_up_and_keeps_the_password_out_of_the_message():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = manage(
        "wait_for_db",
        "--timeout",
        "0.5",
        "--interval",
        "0.1",
        DATABASE_URL=f"postgres://erp:pw-not-to-show@127.0.0.1:{port}/erp_bridge",
    )
    assert result.returncode == 1
    assert "the database did not answer within 0.5 s" in result.stderr
    assert "pw-not-to-show" not in result.stdout + result.stderr


# ---- the settings of compose.yaml ----------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def compose_environment(service: str, values: dict[str, str]) -> dict[str, str]:
    """The service's environment as `docker compose` resolves it from .env (values)."""
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())

    def resolve(text: str) -> str:
        def one(match: re.Match) -> str:
            name, kind, word = match.groups()
            if values.get(name):
                return values[name]
            if kind == "?":
                raise AssertionError(f"compose needs {name}: {word}")
            return word or ""

        return _INTERPOLATION.sub(one, str(text))

    return {name: resolve(value) for name, value in compose["services"][service]["environment"].items()}


def example_env() -> dict[str, str]:
    """docker/compose.env.example filled in: its placeholder secret key is refused by check --deploy
    (as it should be), so a real one stands in for it."""
    lines = (PROJECT_ROOT / "docker" / "compose.env.example").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    values["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    return values


@pytest.fixture(scope="module")
def web_environment() -> dict[str, str]:
    env = compose_environment("web", example_env())
    # The image's own ENV (Dockerfile) comes under compose's.
    return {"DJANGO_DEBUG": "0", "ERP_BRIDGE_SERVE_STATIC": "1", "WEB_CONCURRENCY": "3", **env}


def test_compose_needs_its_secrets():
    with pytest.raises(AssertionError, match="compose needs POSTGRES_PASSWORD"):
        compose_environment("web", {})


def test_the_bundle_settings_pass_check_deploy(web_environment):
    assert web_environment["DATABASE_URL"].startswith("postgres://erp_bridge:change-me")
    result = manage("check", "--deploy", "--fail-level", "WARNING", **web_environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_bundle_settings_as_loaded(web_environment):
    code = (
        "import json; from django.conf import settings as s; print(json.dumps(["
        "s.DEBUG, s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
        "'whitenoise.middleware.WhiteNoiseMiddleware' in s.MIDDLEWARE, s.LOG_FORMAT, "
        "s.SECURE_PROXY_SSL_HEADER, s.ALLOWED_HOSTS]))"
    )
    result = manage("shell", "-c", code, **web_environment)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        False,
        "django.db.backends.postgresql",
        "django.core.cache.backends.redis.RedisCache",
        True,
        "json",
        ["HTTP_X_FORWARDED_PROTO", "https"],
        ["erp.example.com"],
    ]


def test_the_clusters_get_the_same_settings_but_do_not_migrate():
    values = example_env()
    web, cluster = compose_environment("web", values), compose_environment("qcluster-1", values)
    assert web.pop("ERP_BRIDGE_MIGRATE_ON_START") == "1"
    web.pop("WEB_CONCURRENCY")
    assert cluster == web
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    for name in ("qcluster-1", "qcluster-2"):
        service = compose["services"][name]
        assert service["command"] == ["python", "manage.py", "qcluster"]
        assert service["stop_signal"] == "SIGTERM"
        assert service["depends_on"]["web"] == {"condition": "service_healthy"}


# ---- the image's web command and Docker's health check ---------------------------------------------------


def dockerfile_instruction(name: str) -> list[str]:
    text = (PROJECT_ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.startswith(name + " ")]
    assert len(lines) == 1, lines
    return json.loads(lines[0][len(name) + 1 :])  # exec form: signals go to the process itself


def test_the_image_runs_as_a_user_and_execs_its_entrypoint():
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    assert text.startswith("# ") and "\nFROM python:3.11-slim\n" in text
    assert "\nUSER erp\n" in text
    assert dockerfile_instruction("ENTRYPOINT") == ["/app/docker/entrypoint.sh"]
    assert dockerfile_instruction("CMD")[:2] == ["gunicorn", "erp_bridge.wsgi"]
    assert "collectstatic --noinput" in text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_web_command_serves_the_health_checks_docker_calls(tmp_path, web_environment):
    """gunicorn started as the image starts it (its CMD, bound to a free local port, on SQLite),
    in production mode; the compose health check passes against it, the full /readyz says which
    checks fail (no cluster runs here), and SIGTERM stops gunicorn cleanly."""
    env = {**web_environment, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "DJANGO_CACHE_URL": "locmem://"}
    env["ERP_BRIDGE_SERVE_STATIC"] = "0"  # the static files are collected at build, not here
    assert manage("migrate", "--noinput", "-v0", **env).returncode == 0
    port = free_port()
    command = dockerfile_instruction("CMD")
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--worker-tmp-dir") + 1] = str(tmp_path)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed (pip install -e '.[dev]')")
    environment = clean_environment(**{**env, "WEB_CONCURRENCY": "1"})
    server = subprocess.Popen(
        [str(gunicorn), *command[1:]], cwd=PROJECT_ROOT, env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        healthcheck = [sys.executable, str(PROJECT_ROOT / "docker" / "healthcheck.py")]
        check_env = clean_environment(ERP_BRIDGE_HEALTHCHECK_BASE=f"http://127.0.0.1:{port}")
        compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
        paths = compose["services"]["web"]["healthcheck"]["test"][3:]
        assert paths == ["/healthz", "/readyz?checks=database,migrations"]
        deadline = time.monotonic() + 60  # a bound on a hang: gunicorn and Django starting up
        while True:
            result = subprocess.run([*healthcheck, *paths], env=check_env, capture_output=True, text=True)
            if result.returncode == 0 or time.monotonic() > deadline or server.poll() is not None:
                break
            time.sleep(0.2)
        assert result.returncode == 0, result.stderr
        full = subprocess.run([*healthcheck, "/readyz"], env=check_env, capture_output=True, text=True)
        assert full.returncode == 1
        assert "/readyz: 503" in full.stderr and '"failing": ["qcluster", "intake"]' in full.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _out, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0, err
    assert "Shutting down: Master" in err
