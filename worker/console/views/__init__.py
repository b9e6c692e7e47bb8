"""One module per page; each returns ``(path, endpoint, methods)`` rows for app.py."""
