"""The organisation's policy test suite: cases per policy clause, run against any classifier.

`cases` says what a case is and who may read it (the starting suite from the taxonomy's
hard-case notes, plus the organisation's own cases in the database); `run` runs them and gives
the promotion gates `failing_cases`; `service` adds cases (by hand or from an alert), audited.
"""
