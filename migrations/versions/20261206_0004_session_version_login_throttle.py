"""sessions revocable server-side (app_user.session_version) and login throttling per account (username index)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 04:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server_default fills existing accounts; their old session ids (no version) stop loading, so everyone logs in once.
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_login_attempt_username_at', 'login_attempt', ['username', 'at'])


def downgrade() -> None:
    op.drop_index('ix_login_attempt_username_at', table_name='login_attempt')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
