#!/bin/sh
# erp-bridge's container entry point (Dockerfile, compose.yaml): wait for the database, apply the
# migrations when asked, then replace this shell with the command (exec), so that the command is
# PID 1 and receives the container's signals itself (SIGTERM stops gunicorn or a qcluster cleanly).
#
#   ERP_BRIDGE_DB_WAIT_S=60          seconds to wait for the database (0: do not wait)
#   ERP_BRIDGE_MIGRATE_ON_START=0    1: run `manage.py migrate` first (let one service do it)
set -eu

cd "$(dirname "$0")/.."

is_on() {
    case "$(printf '%s' "${1:-}" | tr '[:upper:]' '[:lower:]')" in
        1 | true | yes | on) return 0 ;;
        *) return 1 ;;
    esac
}

wait_s="${ERP_BRIDGE_DB_WAIT_S:-60}"
if [ "$wait_s" != "0" ]; then
    python manage.py wait_for_db --timeout "$wait_s"
fi

if is_on "${ERP_BRIDGE_MIGRATE_ON_START:-0}"; then
    echo "entrypoint: applying migrations (ERP_BRIDGE_MIGRATE_ON_START)"
    python manage.py migrate --noinput
fi

if [ "$#" -eq 0 ]; then
    echo "entrypoint: no command given" >&2
    exit 64
fi
exec "$@"
