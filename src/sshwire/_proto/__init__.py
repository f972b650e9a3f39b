"""The sans-IO SSH core.

Nothing in this package performs I/O, reads the clock, starts threads or draws randomness on
its own: bytes go in and out through explicit calls, and ``rng``/``clock`` are injected by the
threaded shell (see ``tests/proto/test_sans_io.py``, which enforces the rule).
"""
