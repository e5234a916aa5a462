"""chat outbox: an index on delivery (status, id), so that each batch the sender claims is an index range
(status = 'pending' AND id > the last batch's, in id order) rather than a sort of every pending row

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 21:10:00

Without it SQLite answered each claim by sorting all pending rows: at 1,000,000 queued deliveries and 100 per batch,
10,000 sorts of up to a million rows.
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_delivery_status_id', 'delivery', ['status', 'id'])


def downgrade() -> None:
    op.drop_index('ix_delivery_status_id', table_name='delivery')
