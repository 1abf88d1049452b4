"""Platform connectors: one module per platform, each behind the `Connector` protocol."""
