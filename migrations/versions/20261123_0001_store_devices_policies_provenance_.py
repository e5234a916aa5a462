"""store: devices, policies, provenance, revisions, tags, runs

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 18:23:01.581778
"""
import sqlalchemy as sa
from alembic import op

import tracker.store.models

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY_TABLES = ("revision",)


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE on history tables at the database level, not only in application code."""
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION tracker_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tracker_append_only()"
        )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        return
    for table in APPEND_ONLY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS tracker_append_only()")


def upgrade() -> None:
    op.create_table('company',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=500), nullable=True),
    sa.Column('credit_code', sa.String(length=40), nullable=True),
    sa.Column('first_seen', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company')),
    sa.UniqueConstraint('name', name=op.f('uq_company_name'))
    )
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_credit_code'), ['credit_code'], unique=False)

    op.create_table('news_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('title', sa.String(length=1000), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('companies', sa.JSON(), nullable=False),
    sa.Column('cert_nos', sa.JSON(), nullable=False),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('first_seen', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_news_item')),
    sa.UniqueConstraint('url', name=op.f('uq_news_item_url'))
    )
    with op.batch_alter_table('news_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_news_item_published_on'), ['published_on'], unique=False)

    op.create_table('policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=600), nullable=False),
    sa.Column('title', sa.String(length=1000), nullable=False),
    sa.Column('title_key', sa.String(length=600), nullable=False),
    sa.Column('issuer', sa.String(length=300), nullable=True),
    sa.Column('doc_no', sa.String(length=120), nullable=True),
    sa.Column('doc_type', sa.String(length=32), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=True),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('written_on', sa.Date(), nullable=True),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('final_version_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_ai', sa.Boolean(), nullable=False),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('field_sources', sa.JSON(), nullable=False),
    sa.Column('first_seen', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['final_version_id'], ['policy.id'], name=op.f('fk_policy_final_version_id_policy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy')),
    sa.UniqueConstraint('key', name=op.f('uq_policy_key'))
    )
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_doc_type'), ['doc_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_first_seen'), ['first_seen'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_is_ai'), ['is_ai'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_issuer'), ['issuer'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_published_on'), ['published_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_title_key'), ['title_key'], unique=False)

    op.create_table('scrape_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('started_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', tracker.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('new', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('out_of_scope', sa.Integer(), nullable=False),
    sa.Column('missing', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scrape_run'))
    )
    with op.batch_alter_table('scrape_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scrape_run_outcome'), ['outcome'], unique=False)
        batch_op.create_index('ix_scrape_run_source_started', ['source', 'started_at'], unique=False)

    op.create_table('tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_type', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('facet', sa.String(length=24), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('rule_ids', sa.String(length=300), nullable=True),
    sa.Column('rule_version', sa.String(length=16), nullable=True),
    sa.Column('taxonomy_version', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag')),
    sa.UniqueConstraint('entity_type', 'entity_id', 'facet', 'code', 'method', name=op.f('uq_tag_entity_type_entity_id_facet_code_method'))
    )
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.create_index('ix_tag_code', ['facet', 'code', 'entity_type'], unique=False)

    op.create_table('device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cert_no', sa.String(length=64), nullable=False),
    sa.Column('product_name', sa.String(length=500), nullable=False),
    sa.Column('brand', sa.String(length=500), nullable=True),
    sa.Column('registrant', sa.String(length=300), nullable=True),
    sa.Column('registrant_en', sa.String(length=500), nullable=True),
    sa.Column('credit_code', sa.String(length=40), nullable=True),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('mgmt_class', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=True),
    sa.Column('first_reg_year', sa.Integer(), nullable=True),
    sa.Column('category_code', sa.String(length=8), nullable=True),
    sa.Column('catalogue_code', sa.String(length=32), nullable=True),
    sa.Column('model_spec', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('device_kind', sa.String(length=32), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('acceptance_no', sa.String(length=64), nullable=True),
    sa.Column('di_published_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_ai', sa.Boolean(), nullable=False),
    sa.Column('ai_confidence', sa.Float(), nullable=False),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('field_sources', sa.JSON(), nullable=False),
    sa.Column('first_seen', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_device_company_id_company')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device')),
    sa.UniqueConstraint('cert_no', name=op.f('uq_device_cert_no'))
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_catalogue_code'), ['catalogue_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_first_reg_year'), ['first_reg_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_first_seen'), ['first_seen'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_is_ai'), ['is_ai'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_issued_on'), ['issued_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_mgmt_class'), ['mgmt_class'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_origin'), ['origin'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_registrant'), ['registrant'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_status'), ['status'], unique=False)

    op.create_table('revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_type', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('changed_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['scrape_run.id'], name=op.f('fk_revision_run_id_scrape_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revision'))
    )
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revision_changed_at'), ['changed_at'], unique=False)
        batch_op.create_index('ix_revision_entity', ['entity_type', 'entity_id', 'changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_revision_run_id'), ['run_id'], unique=False)

    op.create_table('source_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('key', sa.String(length=1000), nullable=True),
    sa.Column('fetched_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('warc_path', sa.String(length=500), nullable=True),
    sa.Column('warc_offset', sa.Integer(), nullable=True),
    sa.Column('warc_length', sa.Integer(), nullable=True),
    sa.Column('is_sample', sa.Boolean(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['scrape_run.id'], name=op.f('fk_source_document_run_id_scrape_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_document')),
    sa.UniqueConstraint('url', 'sha256', name=op.f('uq_source_document_url_sha256'))
    )
    with op.batch_alter_table('source_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_document_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_document_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_document_source'), ['source'], unique=False)

    op.create_table('approval_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('cert_no', sa.String(length=64), nullable=False),
    sa.Column('notice_url', sa.String(length=1000), nullable=False),
    sa.Column('acceptance_no', sa.String(length=64), nullable=False),
    sa.Column('product_name', sa.String(length=500), nullable=False),
    sa.Column('registrant', sa.String(length=300), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('notice_date', sa.Date(), nullable=True),
    sa.Column('is_correction', sa.Boolean(), nullable=False),
    sa.Column('raw_row', sa.Text(), nullable=False),
    sa.Column('first_seen', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_approval_event_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_event')),
    sa.UniqueConstraint('cert_no', 'notice_url', 'acceptance_no', name=op.f('uq_approval_event_cert_no_notice_url_acceptance_no'))
    )
    with op.batch_alter_table('approval_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_event_device_id'), ['device_id'], unique=False)

    op.create_table('device_identifier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('udi_di', sa.String(length=64), nullable=False),
    sa.Column('first_seen', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_device_identifier_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_identifier')),
    sa.UniqueConstraint('udi_di', name=op.f('uq_device_identifier_udi_di'))
    )
    with op.batch_alter_table('device_identifier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_identifier_device_id'), ['device_id'], unique=False)

    op.create_table('news_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('news_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_news_device_device_id_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['news_id'], ['news_item.id'], name=op.f('fk_news_device_news_id_news_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_news_device')),
    sa.UniqueConstraint('news_id', 'device_id', name=op.f('uq_news_device_news_id_device_id'))
    )
    with op.batch_alter_table('news_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_news_device_device_id'), ['device_id'], unique=False)

    op.create_table('policy_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('created_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_policy_device_device_id_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['policy.id'], name=op.f('fk_policy_device_policy_id_policy'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_device')),
    sa.UniqueConstraint('policy_id', 'device_id', name=op.f('uq_policy_device_policy_id_device_id'))
    )
    with op.batch_alter_table('policy_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_device_device_id'), ['device_id'], unique=False)

    op.create_table('record_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_type', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('linked_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['source_document.id'], name=op.f('fk_record_source_document_id_source_document')),
    sa.ForeignKeyConstraint(['run_id'], ['scrape_run.id'], name=op.f('fk_record_source_run_id_scrape_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_source')),
    sa.UniqueConstraint('entity_type', 'entity_id', 'document_id', name=op.f('uq_record_source_entity_type_entity_id_document_id'))
    )
    with op.batch_alter_table('record_source', schema=None) as batch_op:
        batch_op.create_index('ix_record_source_document', ['document_id'], unique=False)


    _append_only_triggers()

def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('record_source', schema=None) as batch_op:
        batch_op.drop_index('ix_record_source_document')

    op.drop_table('record_source')
    with op.batch_alter_table('policy_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_device_device_id'))

    op.drop_table('policy_device')
    with op.batch_alter_table('news_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_news_device_device_id'))

    op.drop_table('news_device')
    with op.batch_alter_table('device_identifier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_identifier_device_id'))

    op.drop_table('device_identifier')
    with op.batch_alter_table('approval_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_event_device_id'))

    op.drop_table('approval_event')
    with op.batch_alter_table('source_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_document_source'))
        batch_op.drop_index(batch_op.f('ix_source_document_sha256'))
        batch_op.drop_index(batch_op.f('ix_source_document_run_id'))

    op.drop_table('source_document')
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revision_run_id'))
        batch_op.drop_index('ix_revision_entity')
        batch_op.drop_index(batch_op.f('ix_revision_changed_at'))

    op.drop_table('revision')
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_status'))
        batch_op.drop_index(batch_op.f('ix_device_registrant'))
        batch_op.drop_index(batch_op.f('ix_device_origin'))
        batch_op.drop_index(batch_op.f('ix_device_mgmt_class'))
        batch_op.drop_index(batch_op.f('ix_device_issued_on'))
        batch_op.drop_index(batch_op.f('ix_device_is_ai'))
        batch_op.drop_index(batch_op.f('ix_device_first_seen'))
        batch_op.drop_index(batch_op.f('ix_device_first_reg_year'))
        batch_op.drop_index(batch_op.f('ix_device_company_id'))
        batch_op.drop_index(batch_op.f('ix_device_catalogue_code'))

    op.drop_table('device')
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.drop_index('ix_tag_code')

    op.drop_table('tag')
    with op.batch_alter_table('scrape_run', schema=None) as batch_op:
        batch_op.drop_index('ix_scrape_run_source_started')
        batch_op.drop_index(batch_op.f('ix_scrape_run_outcome'))

    op.drop_table('scrape_run')
    with op.batch_alter_table('policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_stage'))
        batch_op.drop_index(batch_op.f('ix_policy_title_key'))
        batch_op.drop_index(batch_op.f('ix_policy_published_on'))
        batch_op.drop_index(batch_op.f('ix_policy_issuer'))
        batch_op.drop_index(batch_op.f('ix_policy_is_ai'))
        batch_op.drop_index(batch_op.f('ix_policy_first_seen'))
        batch_op.drop_index(batch_op.f('ix_policy_doc_type'))

    op.drop_table('policy')
    with op.batch_alter_table('news_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_news_item_published_on'))

    op.drop_table('news_item')
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_company_credit_code'))

    op.drop_table('company')
