"""The monitor: storage, ingest, queue, audit, takedown, daemon, web UI and CLI."""
