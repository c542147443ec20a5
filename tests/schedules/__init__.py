"""Tests of schedules: schedule files, the catalog's change rules, imports, organizer edits."""
