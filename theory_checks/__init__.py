"""Closed-form guarantees and the statistics used to check them (``banditlab.theory_checks``)."""
