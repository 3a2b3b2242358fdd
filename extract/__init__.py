"""Extractor for the ACE IoT FlightDeck API: raw samples to immutable, partitioned Parquet.

Entry points: ``python -m extract --help``; in Python :func:`sync`, :func:`backfill`,
:func:`import_files`, :class:`FlightDeckClient` and :class:`Settings`.
"""

from .core.config import Settings
from .landing.backfill import backfill
from .landing.importer import import_files
from .landing.sync import sync
from .source.client import FlightDeckClient

__all__ = ["FlightDeckClient", "Settings", "backfill", "import_files", "sync"]
