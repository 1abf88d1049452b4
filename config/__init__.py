"""Settings schema, defaults and the example configuration."""
