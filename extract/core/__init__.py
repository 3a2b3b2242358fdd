"""Shared by every stage: settings (the only reader of the environment), the lake's schema
and winner rule, the error taxonomy, logging, argparse converters, the in-memory DuckDB."""
