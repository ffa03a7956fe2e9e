"""Docker's health check of the web container: GET each path on this container's gunicorn and
exit 0 only when every answer is 200 (the image has no curl). Usage:

    python docker/healthcheck.py /healthz "/readyz?checks=database,migrations"

The paths are answered ahead of Django's host check and HTTPS redirect (integration.ops.middleware),
so a plain http://127.0.0.1 request works whatever DJANGO_ALLOWED_HOSTS says.
"""

import os
import sys
import urllib.error
import urllib.request

BASE = os.environ.get("ERP_BRIDGE_HEALTHCHECK_BASE", "http://127.0.0.1:8000")


def main(paths: list[str]) -> int:
    for path in paths or ["/healthz"]:
        try:
            with urllib.request.urlopen(BASE + path, timeout=5) as response:
                status = response.status
                body = response.read(500)
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read(500)
        except OSError as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 1
        if status != 200:
            print(f"{path}: {status} {body.decode(errors='replace')}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
