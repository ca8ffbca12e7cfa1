"""Moved to :mod:`gradmedic.show.tune`; this name stays for ``tune.py`` until it imports from there."""

from .show.tune import render  # noqa: F401
