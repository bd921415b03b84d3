"""Device protocols: each turns one device into Readings and executes explicit actions.

Qt-free and SQLite-free by rule (checked by tests/test_architecture.py).
"""
