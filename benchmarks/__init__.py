"""The benchmark harness (run.py) and its reference clients; not part of the package."""
