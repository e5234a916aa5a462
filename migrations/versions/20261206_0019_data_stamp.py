"""data stamp: a one-row counter every committed write raises (tracker.store.stamp), read by the page cache

Revision ID: 0019
Revises: 0010
Create Date: 2026-12-06 21:00:00
"""
import time

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'data_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_stamp')),
    )
    # Started at the clock in milliseconds, not at 0: a store whose table is dropped and made again (a downgrade and
    # upgrade) must not count through stamps a cache may still hold.
    op.bulk_insert(table, [{'id': 1, 'version': int(time.time() * 1000)}])


def downgrade() -> None:
    op.drop_table('data_stamp')
