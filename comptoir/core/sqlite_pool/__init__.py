"""SQLite with open connections kept for re-use (Django's sqlite3 backend plus a pool)."""
