"""Shared test helpers: services on a test database, a live server, receivers, parsers."""
