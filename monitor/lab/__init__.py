"""The policy lab: the organisation's own rules, shadow runs and back-tests, gated promotion."""
