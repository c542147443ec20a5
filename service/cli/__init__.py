"""The `visitcal` command line, and the demo it runs."""
