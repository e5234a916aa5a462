"""policies keep issuer and document number as printed (policy.issuer_printed, policy.doc_no_printed) beside the
canonical forms; certificate_event: each certificate's life as append-only events

Revision ID: 0008
Revises: 0018
Create Date: 2026-12-06 18:30:00

Upgrade builds the events that rows already stored say, so nothing recorded is lost: each approval-notice row
(approval_event) becomes a registration, change, renewal or correction event (the kind read from the acceptance
number's second letter: S first registration, B change, Y renewal), and each device with a withdrawal date a
cancellation. The keys are those tracker.store.events writes, so a later re-read of the same notice adds nothing.
The rules are written out here rather than imported: a migration must keep working after the code has changed.
The policy search index (tracker.store.search) is rebuilt over the printed columns too, so search finds a policy by
either form. Downgrade puts the index back as it was, then drops the table and the two columns (the printed forms
are re-read from the pages on the next run).
"""
import re

import sqlalchemy as sa
from alembic import op

import tracker.store.models
from tracker.store import search as search_index

revision = '0008'
down_revision = '0018'
branch_labels = None
depends_on = None

_KIND_BY_LETTER = {"S": "registration", "B": "change", "Y": "renewal"}
_CORRECTION = re.compile(r"(?P<field>[^|；;，,。“”\"]+?)由[“\"](?P<before>[^”\"]*)[”\"]更正为[“\"](?P<after>[^”\"]*)[”\"]")


def _kind(acceptance_no: str | None, is_correction: bool) -> str:
    if is_correction:
        return "correction"
    letter = (acceptance_no or "")[1:2].upper()
    return _KIND_BY_LETTER.get(letter, "registration")


def _changes(raw_row: str) -> list:
    return [{"field": m["field"].strip(), "before": m["before"], "after": m["after"]}
            for m in _CORRECTION.finditer(raw_row or "")]


def _append_only() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER certificate_event_no_{action.lower()} BEFORE {action} ON certificate_event "
                       "BEGIN SELECT RAISE(ABORT, 'certificate_event is append-only'); END")
        return
    # tracker_append_only() comes from 0001.
    op.execute("CREATE TRIGGER certificate_event_append_only BEFORE UPDATE OR DELETE ON certificate_event "
               "FOR EACH ROW EXECUTE FUNCTION tracker_append_only()")


def _backfill() -> None:
    bind = op.get_bind()
    stamp = tracker.store.models.UTCDateTime(timezone=True)
    events = sa.table(
        "certificate_event", sa.column("key"), sa.column("device_id"), sa.column("cert_no"), sa.column("kind"),
        sa.column("event_date", sa.Date), sa.column("source"), sa.column("source_url"),
        sa.column("changes", sa.JSON), sa.column("detail", sa.JSON), sa.column("recorded_at", stamp))
    # Typed column lists, so both databases hand back dates and datetimes rather than SQLite's strings.
    approvals = sa.table(
        "approval_event", sa.column("id"), sa.column("device_id"), sa.column("cert_no"), sa.column("notice_url"),
        sa.column("acceptance_no"), sa.column("issued_on", sa.Date), sa.column("notice_date", sa.Date),
        sa.column("is_correction", sa.Boolean), sa.column("raw_row"), sa.column("first_seen", stamp))
    devices = sa.table("device", sa.column("id"), sa.column("cert_no"), sa.column("withdrawn_on", sa.Date),
                       sa.column("updated_at", stamp))
    rows = []
    for r in bind.execute(sa.select(approvals).order_by(approvals.c.id)).mappings():
        kind = _kind(r["acceptance_no"], bool(r["is_correction"]))
        rows.append({
            "key": f"nmpa_approvals|{kind}|{r['cert_no']}|{r['notice_url']}|{r['acceptance_no'] or ''}",
            "device_id": r["device_id"], "cert_no": r["cert_no"], "kind": kind,
            "event_date": r["issued_on"] or r["notice_date"], "source": "nmpa_approvals",
            "source_url": r["notice_url"] or None,
            "changes": _changes(r["raw_row"]) if kind == "correction" else [],
            "detail": {"acceptance_no": r["acceptance_no"] or None, "row": r["raw_row"]},
            "recorded_at": r["first_seen"]})
    for r in bind.execute(sa.select(devices).where(devices.c.withdrawn_on.is_not(None))
                          .order_by(devices.c.id)).mappings():
        rows.append({
            "key": f"udi|cancellation|{r['cert_no']}|{r['withdrawn_on'].isoformat()}", "device_id": r["id"],
            "cert_no": r["cert_no"], "kind": "cancellation", "event_date": r["withdrawn_on"], "source": "udi",
            "source_url": None, "changes": [], "detail": {}, "recorded_at": r["updated_at"]})
    for start in range(0, len(rows), 500):
        bind.execute(events.insert(), rows[start:start + 500])


def _policy_index(columns: dict) -> None:
    """Rebuild the policy part of the search index over `columns` (triggers, table, rows) on either database."""
    connection, policy = op.get_bind(), {"policy": columns["policy"]}
    search_index.drop_fts(connection, policy)
    search_index.drop_gin(connection, policy)
    search_index.create_fts(connection, policy)  # each does nothing on the other database
    search_index.create_gin(connection, policy)
    search_index.rebuild_fts(connection, policy)
    search_index.rebuild_gin(connection, policy)


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch rebuild: rebuilding `policy` in SQLite would drop its search triggers.
    op.add_column('policy', sa.Column('issuer_printed', sa.String(length=300), nullable=True))
    op.add_column('policy', sa.Column('doc_no_printed', sa.String(length=120), nullable=True))
    op.create_table(
        'certificate_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=1200), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('cert_no', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('event_date', sa.Date(), nullable=True),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('source_url', sa.String(length=1000), nullable=True),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('recorded_at', tracker.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_certificate_event_device_id_device')),
        sa.ForeignKeyConstraint(['document_id'], ['source_document.id'],
                                name=op.f('fk_certificate_event_document_id_source_document')),
        sa.ForeignKeyConstraint(['run_id'], ['scrape_run.id'], name=op.f('fk_certificate_event_run_id_scrape_run')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_event')),
        sa.UniqueConstraint('key', name=op.f('uq_certificate_event_key')),
    )
    op.create_index('ix_certificate_event_kind_date', 'certificate_event', ['kind', 'event_date'])
    op.create_index(op.f('ix_certificate_event_device_id'), 'certificate_event', ['device_id'])
    op.create_index(op.f('ix_certificate_event_cert_no'), 'certificate_event', ['cert_no'])
    op.create_index(op.f('ix_certificate_event_event_date'), 'certificate_event', ['event_date'])
    op.create_index(op.f('ix_certificate_event_recorded_at'), 'certificate_event', ['recorded_at'])
    _backfill()
    _append_only()
    # Search finds a policy by the printed issuer and number too.
    _policy_index(search_index.SEARCHABLE)


def downgrade() -> None:
    _policy_index(search_index.SEARCHABLE_BEFORE_0008)  # before the columns go: no trigger may name them
    op.drop_table('certificate_event')  # its triggers go with it on both databases
    if op.get_bind().dialect.name == "sqlite":
        # SQLite ≥ 3.35 drops an unindexed column in place; a batch rebuild would drop the search triggers.
        op.execute("ALTER TABLE policy DROP COLUMN doc_no_printed")
        op.execute("ALTER TABLE policy DROP COLUMN issuer_printed")
    else:
        op.drop_column('policy', 'doc_no_printed')
        op.drop_column('policy', 'issuer_printed')


