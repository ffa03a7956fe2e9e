# erp-bridge's production image. One image, two kinds of process (compose.yaml runs both):
#   web:      gunicorn erp_bridge.wsgi (the default command)
#   workers:  python manage.py qcluster
# docker/entrypoint.sh waits for the database, migrates when ERP_BRIDGE_MIGRATE_ON_START=1, then
# execs the command, so gunicorn or qcluster is PID 1 and gets SIGTERM itself.
# How to run it, and what was not tested: docs/operations.md "The container bundle".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# No system package is needed: psycopg[binary] brings its own libpq, the translations are compiled
# in the repository (locale/*.mo).
RUN groupadd --system --gid 10001 erp \
    && useradd --system --uid 10001 --gid erp --home-dir /app --no-create-home --shell /usr/sbin/nologin erp \
    && mkdir /data && chown erp:erp /data

WORKDIR /app

# The dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['production']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the code, installed as a package too (its entry points: django-q2's Sentry reporter).
COPY . .
RUN pip install --no-deps . \
    && chmod 0755 docker/entrypoint.sh \
    && DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-at-build-only ERP_BRIDGE_SERVE_STATIC=1 \
       python manage.py collectstatic --noinput --verbosity 0

# Production defaults; everything else comes from the environment (docs/configuration.md).
# The image serves the admin's static files itself (WhiteNoise); put a TLS proxy in front.
ENV DJANGO_DEBUG=0 \
    ERP_BRIDGE_SERVE_STATIC=1 \
    WEB_CONCURRENCY=3

USER erp
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
# gunicorn reads WEB_CONCURRENCY (workers) and GUNICORN_CMD_ARGS (any other option) itself.
CMD ["gunicorn", "erp_bridge.wsgi", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", \
     "--timeout", "120", "--graceful-timeout", "30"]
