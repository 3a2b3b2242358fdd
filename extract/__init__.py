"""Extractor for the ACE IoT FlightDeck API: raw samples to immutable, partitioned Parquet.

Entry points: ``python -m extract --help``; in Python :func:`sync`, :func:`backfill`,
:func:`import_files`, :class:`FlightDeckClient` and :class:`Settings`.
"""

from .backfill import backfill
from .client import FlightDeckClient
from .config import Settings
from .importer import import_files
from .sync import sync

__all__ = ["FlightDeckClient", "Settings", "backfill", "import_files", "sync"]
