"""Operations: the health endpoints (/healthz, /readyz) and the Prometheus metrics (/metrics).

They read the shared database (and django-q2's heartbeats), never write, and need no login;
docs/operations.md says what each check means and what to do when it fails.
"""
