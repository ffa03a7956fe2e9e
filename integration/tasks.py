"""django-q2 entry points. Thin: they call a service. The ORM broker delivers at least once, so
each of them is safe to run twice (the intake holds a lease and is idempotent per order)."""


def pull_orders() -> str:
    from integration.services.intake import intake_run

    return intake_run(source="list").summary()


def prune_vtex_calls() -> str:
    from integration.services.housekeeping import vtex_calls_prune

    return f"deleted {vtex_calls_prune()} VTEX call records"
