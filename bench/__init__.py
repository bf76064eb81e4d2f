"""Benchmarks that print a ratio against a floor measured in the same run.

``python -m bench.engine``: triggers through the whole stack against raw
durable sqlite3 commits. A ratio survives a change of machine; a bare
figure does not.
"""
