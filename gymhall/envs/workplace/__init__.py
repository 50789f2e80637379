"""The `workplace` environment: emails, a calendar and contacts in a per-session SQLite database."""
