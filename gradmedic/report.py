"""Moved to :mod:`gradmedic.show.report`; this name stays for callers not yet moved (cli, repair, tune)."""

from .show.report import CAPTIONS, Section, esc, render, run_report, write_report  # noqa: F401
