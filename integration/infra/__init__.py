"""Infrastructure the services stand on: leases, the shared VTEX rate budget, crash points for the
reliability tests, and the wiring of the process's one VTEX client with its call log. No business
rule lives here."""
