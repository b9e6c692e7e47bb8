"""autoclock benchmarks: ``uv run python -m bench.run`` (see bench/README.md).

Not part of the test suite: every part starts real processes on loopback and measures
autoclock against a bare baseline in the same run.
"""
