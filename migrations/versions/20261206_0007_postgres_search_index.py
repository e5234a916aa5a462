"""PostgreSQL search: a GIN index over each row's character pairs (tables device_search and policy_search, kept by
triggers, filled from existing rows); SQLite has had its FTS5 equivalent since 0003

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-06 14:10:00
"""
from alembic import op

from tracker.store import search as search_index

revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    # The columns as they were then: SEARCHABLE gained the printed policy columns in 0008.
    search_index.create_gin(connection, search_index.SEARCHABLE_BEFORE_0008)
    search_index.rebuild_gin(connection, search_index.SEARCHABLE_BEFORE_0008)


def downgrade() -> None:
    search_index.drop_gin(op.get_bind(), search_index.SEARCHABLE_BEFORE_0008)
