"""People: who uses socmon, the roles they hold and what each role may do."""
