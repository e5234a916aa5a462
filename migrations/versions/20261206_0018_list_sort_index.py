"""device list order: an index PostgreSQL can walk for ORDER BY issued_on DESC NULLS LAST, id DESC (SQLite gets the
same order under the same name)

Revision ID: 0018
Revises: 0006
Create Date: 2026-12-06 18:30:00

See tracker.store.sort_index for why the definitions differ between the databases.
"""
from alembic import op

from tracker.store import sort_index

revision = '0018'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    sort_index.create(op.get_bind())


def downgrade() -> None:
    sort_index.drop(op.get_bind())
