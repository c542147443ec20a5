"""Tests of publishing: feeds over HTTP, caching headers, private and filtered feeds."""
