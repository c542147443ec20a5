"""Tests of the web pages and the HTTP API as a whole (browser, schema)."""
