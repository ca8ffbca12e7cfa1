"""Moved to :mod:`gradmedic.show.run`; this name stays for callers not yet moved (cli, repair)."""

from .show.run import NAMES, render_all  # noqa: F401
