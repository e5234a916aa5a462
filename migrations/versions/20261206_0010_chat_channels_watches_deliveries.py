"""team notifications: chat channels, watches (what a team follows, into which channels) and deliveries (the chat
outbox, one row per channel and event)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 18:08:24

New tables only: upgrade creates them empty, downgrade drops them (with the channels, watches and delivery history
they hold: a downgrade removes the feature).
"""
import sqlalchemy as sa
from alembic import op

from tracker.store.models.base import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=True),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('alert_state', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel')),
    sa.UniqueConstraint('name', name=op.f('uq_channel_name'))
    )
    op.create_table('watch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('include_devices', sa.Boolean(), nullable=False),
    sa.Column('include_policies', sa.Boolean(), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_until', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watch')),
    sa.UniqueConstraint('name', name=op.f('uq_watch_name'))
    )
    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=True),
    sa.Column('event_key', sa.String(length=160), nullable=False),
    sa.Column('uid', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_delivery_channel_id_channel'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['watch_id'], ['watch.id'], name=op.f('fk_delivery_watch_id_watch'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('channel_id', 'event_key', name=op.f('uq_delivery_channel_id_event_key')),
    sa.UniqueConstraint('uid', name=op.f('uq_delivery_uid'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_delivery_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('watch_channel',
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_watch_channel_channel_id_channel'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['watch_id'], ['watch.id'], name=op.f('fk_watch_channel_watch_id_watch'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('watch_id', 'channel_id', name=op.f('pk_watch_channel'))
    )


def downgrade() -> None:
    op.drop_table('watch_channel')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_status_next')
        batch_op.drop_index(batch_op.f('ix_delivery_channel_id'))

    op.drop_table('delivery')
    op.drop_table('watch')
    op.drop_table('channel')
