"""The memory scenario's child process: one intake in a process of its own, then its peak RSS.

    DATABASE_URL=... python -m bench.child '<json settings overrides>'

Prints one line of JSON. The peak is the kernel's high-water mark of this process (VmHWM in
/proc/self/status; ru_maxrss where /proc is missing), so the parent's memory and the sandbox's
(another child) are not in it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def peak_rss_kb() -> int:
    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(overrides: dict) -> dict:
    """`overrides`: the VTEX settings the parent's vtex_overrides() gives its own intake runs."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp_bridge.settings")
    import django

    django.setup()
    from django.conf import settings

    from integration.infra.vtex_client import reset_vtex_client
    from integration.services.intake import intake_run

    settings.DEBUG = False  # as in production: no query log kept in memory
    for name, value in overrides.items():
        setattr(settings, name, value)
    reset_vtex_client()
    baseline_kb = _status_kb("VmRSS") or 0
    started = time.perf_counter()
    result = intake_run(source="list")
    seconds = time.perf_counter() - started
    return {
        "intake": asdict(result),
        "seconds": seconds,
        "baseline_rss_kb": baseline_kb,
        "peak_rss_kb": peak_rss_kb(),
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
