"""Read-only queries: what the admin, the API and the dashboard show. No writes here."""
