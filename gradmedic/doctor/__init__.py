"""Judging: diagnose (the detectors, each threshold with its reason, on a History and its Context),
remedies (pure prescriptions: a finding to spec changes and snippets) and the labelled scenarios."""
