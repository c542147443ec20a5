"""The test suite: one folder per subsystem, shared fixtures in conftest.py and helpers/."""
