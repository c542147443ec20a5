"""The running visitcal service: settings, storage, domain rules, HTTP API, worker and CLI."""
