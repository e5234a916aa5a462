"""The index a device list's default order reads, in the form each database can walk.

The device list (and the API, feeds and digests) sorts newest issue date first with missing dates last, ties by id:
`ORDER BY issued_on DESC NULLS LAST, id DESC` (tracker.read.lists). SQLite walks `ix_device_issued_on` backwards for
that (it sorts NULL lowest, and the index ends in the rowid); PostgreSQL cannot: its ascending index sorts NULL last,
so walked backwards it gives NULLS FIRST, and without a matching index every page sorted all 100,000 devices
(63 ms, bench/README.md). `ix_device_issued_desc` is that matching index: on PostgreSQL (issued_on DESC NULLS LAST,
id DESC); on SQLite (issued_on DESC, id DESC), the same order there, so both schemas hold the same names.

The two definitions differ, so the index is not declared on the ORM model (autogenerate would see a difference on
one database); migrations/env.py leaves it out of the comparison and migration 0018 makes it.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

NAME = "ix_device_issued_desc"


def is_sort_index(name: str | None) -> bool:
    """True for the indexes this module makes (left out of autogenerate's comparison with the models)."""
    return name == NAME


def create(connection: Connection) -> None:
    """Make the index in the form `connection`'s database walks for the list order."""
    postgres = connection.dialect.name == "postgresql"
    columns = "issued_on DESC NULLS LAST, id DESC" if postgres else "issued_on DESC, id DESC"
    connection.execute(text(f"CREATE INDEX {NAME} ON device ({columns})"))


def drop(connection: Connection) -> None:
    """Remove the index."""
    connection.execute(text(f"DROP INDEX {NAME}"))
