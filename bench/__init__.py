"""The benchmark (`make bench`): budget use, throughput, freshness, admin scale, memory and hook latency.

It lives outside the app; `manage.py bench` (integration/management/commands/bench.py) runs it.

Each scenario runs erp-bridge's real code against the sandbox store (a fake VTEX) on a real port,
in a fresh database of the configured engine, and returns its figures and whether its targets
hold. The sandbox runs in a child process of its own: VTEX's CPU is not ours, and in the same
process its handler threads would take the GIL from the code being measured.

Modules:
- runner: runs the scenarios in order, builds the report (the entry point of the command);
- scenarios: one function per scenario;
- naive: the naive sequential importer the intake is compared with;
- sandbox: the sandbox in a child process, driven through its control routes;
- databases: a fresh database per scenario (SQLite temp files, or the PostgreSQL bench database);
- child: the child process of the memory scenario;
- served: erp-bridge as deployed (gunicorn, qclusters) in child processes, for the freshness
  scenario and the soak;
- report: targets, the printed table and the JSON file; charts: the SVG chart beside it;
- soak: `make bench-soak`, half an hour of a store's traffic with faults and a killed cluster.

The package and its `sandbox` and `machine` modules must stay importable without Django set up
(the sandbox child imports them).
"""
