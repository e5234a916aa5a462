"""attachments and full text: attachment (one row per distinct file, its extraction state), policy_attachment,
passage (attachment pages and policy bodies) with its bigram search index (SQLite FTS5 / PostgreSQL GIN)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 18:40:00

Existing policy bodies become passages (page 0), so search finds them before any attachment is fetched.
"""
import sqlalchemy as sa
from alembic import op

from tracker.store import search as search_index
from tracker.store.models import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=1000), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.Column('declared_type', sa.String(length=16), nullable=True),
        sa.Column('detected_type', sa.String(length=16), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('state_detail', sa.Text(), nullable=True),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('chars', sa.Integer(), nullable=False),
        sa.Column('is_sample', sa.Boolean(), nullable=False),
        sa.Column('fetched_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('extracted_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['source_document.id'],
                                name=op.f('fk_attachment_document_id_source_document')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
        sa.UniqueConstraint('url', name=op.f('uq_attachment_url')),
    )
    op.create_index(op.f('ix_attachment_sha256'), 'attachment', ['sha256'])
    op.create_index(op.f('ix_attachment_state'), 'attachment', ['state'])
    op.create_table(
        'policy_attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('policy_id', sa.Integer(), nullable=False),
        sa.Column('attachment_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], ondelete='CASCADE',
                                name=op.f('fk_policy_attachment_attachment_id_attachment')),
        sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ondelete='CASCADE',
                                name=op.f('fk_policy_attachment_policy_id_policy')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_attachment')),
        sa.UniqueConstraint('policy_id', 'attachment_id', name=op.f('uq_policy_attachment_policy_id_attachment_id')),
    )
    op.create_index(op.f('ix_policy_attachment_policy_id'), 'policy_attachment', ['policy_id'])
    op.create_index(op.f('ix_policy_attachment_attachment_id'), 'policy_attachment', ['attachment_id'])
    op.create_table(
        'passage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attachment_id', sa.Integer(), nullable=True),
        sa.Column('policy_id', sa.Integer(), nullable=True),
        sa.Column('page_no', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'], ondelete='CASCADE',
                                name=op.f('fk_passage_attachment_id_attachment')),
        sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], ondelete='CASCADE',
                                name=op.f('fk_passage_policy_id_policy')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_passage')),
        sa.UniqueConstraint('attachment_id', 'page_no', name=op.f('uq_passage_attachment_id_page_no')),
        sa.UniqueConstraint('policy_id', 'page_no', name=op.f('uq_passage_policy_id_page_no')),
    )
    connection = op.get_bind()
    connection.execute(sa.text("INSERT INTO passage (policy_id, page_no, text) "
                               "SELECT id, 0, body FROM policy WHERE body IS NOT NULL AND body <> ''"))
    search_index.create_fts(connection, search_index.FULL_TEXT)
    search_index.rebuild_fts(connection, search_index.FULL_TEXT)
    search_index.create_gin(connection, search_index.FULL_TEXT)
    search_index.rebuild_gin(connection, search_index.FULL_TEXT)


def downgrade() -> None:
    connection = op.get_bind()
    search_index.drop_fts(connection, search_index.FULL_TEXT)
    search_index.drop_gin(connection, search_index.FULL_TEXT)
    op.drop_table('passage')
    op.drop_index(op.f('ix_policy_attachment_attachment_id'), table_name='policy_attachment')
    op.drop_index(op.f('ix_policy_attachment_policy_id'), table_name='policy_attachment')
    op.drop_table('policy_attachment')
    op.drop_index(op.f('ix_attachment_state'), table_name='attachment')
    op.drop_index(op.f('ix_attachment_sha256'), table_name='attachment')
    op.drop_table('attachment')
