"""The console: server-rendered pages that show who is tracking, each person's day, what
autoclock did and why, dead letters, health and rules (Starlette + Jinja2, vendored htmx).

:func:`worker.console.app.console_routes` returns the routes; ``autoclock console`` serves
them on their own listener and ``autoclock run`` serves them beside the webhooks.
"""
