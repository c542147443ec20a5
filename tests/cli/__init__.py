"""Tests of the `visitcal` command line."""
