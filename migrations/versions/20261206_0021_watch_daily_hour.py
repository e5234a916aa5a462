"""watches: the local hour after which a daily watch's batch goes out

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 21:20:00

One column with a server default of 0, which is the behaviour before it (the first run of each local day), so existing
watches keep their schedule; downgrade drops it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('watch') as batch:
        batch.add_column(sa.Column('daily_hour', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('watch') as batch:
        batch.drop_column('daily_hour')
