"""Pure classifiers: text (and a names register) in, `Verdict` out. No database, no network."""
