"""Applications and servers that bench/e2e/run.py starts (one process each)."""
