"""The records domain: retention and the daily purge, legal holds, people's rights requests."""
