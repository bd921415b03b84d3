"""Hand-written fakes of third-party modules for tests."""
