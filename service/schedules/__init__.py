"""Schedules: what a visit is (spec), where it comes from (files, API edits, imports), and how it
is written (the catalog's change rules) and remembered (history)."""
