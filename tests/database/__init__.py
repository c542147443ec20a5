"""Tests of the shared database layer: migrations and instants stored as UTC."""
