"""list speed: a bigram search index (SQLite FTS5, filled from existing rows) and a covering tag index

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 21:40:00
"""
from alembic import op

from tracker.store import search as search_index

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TAG_INDEX_COLUMNS = ["facet", "code", "entity_type", "active", "method", "decision", "entity_id"]


def upgrade() -> None:
    op.drop_index("ix_tag_code", table_name="tag")
    op.create_index("ix_tag_code_effective", "tag", TAG_INDEX_COLUMNS)
    connection = op.get_bind()
    # The columns as they were then: SEARCHABLE gained the printed policy columns in 0008.
    search_index.create_fts(connection, search_index.SEARCHABLE_BEFORE_0008)
    search_index.rebuild_fts(connection, search_index.SEARCHABLE_BEFORE_0008)


def downgrade() -> None:
    search_index.drop_fts(op.get_bind(), search_index.SEARCHABLE_BEFORE_0008)
    op.drop_index("ix_tag_code_effective", table_name="tag")
    op.create_index("ix_tag_code", "tag", ["facet", "code", "entity_type"])
