"""End-to-end tests: the four platform connectors through the daemon, against local emulators."""
