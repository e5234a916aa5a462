"""link reasons as codes with parameters: policy_device and news_device keep reason_code + reason_params instead of
an English sentence

Revision ID: 0006
Revises: 0007
Create Date: 2026-12-06 14:30:00

Upgrade reads each stored sentence back into its code and parameters (the sentences were written by one function
each, so their shapes are known); a sentence no pattern recognises is kept whole as code "legacy" with the text as
its parameter, so nothing recorded is lost. Downgrade writes the English sentence of each code again, so a
round trip gives back the sentences the old code wrote.

The patterns and sentences are written out here rather than imported: a migration must keep working after the code
that wrote the data has changed.
"""
import json
import re

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0007'
branch_labels = None
depends_on = None

_LINK = re.compile(
    r"^device tags (?P<tags>.+?) match the scope of 《(?P<title>.*)》"
    r"(?:; guidance about (?P<kind>equipment|software) \((?P<words>[^()]*)\), device "
    r"(?P<device>not software|is AI|is software \((?P<software>.*)\)))?$", re.S)
_NEWS_CERT = re.compile(r"^certificate (?P<cert>.+) named in the article$", re.S)
_NEWS_PRODUCT = re.compile(r"^product (?P<product>.+) and registrant (?P<registrant>.+) named in the article$", re.S)


def _words(text: str) -> list[str]:
    return [w for w in text.split("、") if w]


def link_code(sentence: str) -> tuple[str, dict]:
    """(reason code, parameters) of a stored guidance ↔ device link sentence."""
    m = _LINK.match(sentence or "")
    if not m:
        return "legacy", {"text": sentence}
    params = {"tags": m["tags"].split(", "), "title": m["title"]}
    if m["kind"] is None:
        return "link.scope", params
    params["words"] = _words(m["words"])
    if m["device"] == "not software":
        return "link.scope_equipment", params
    if m["device"] == "is AI":
        return "link.scope_ai", params
    pairs = [part.split(": ", 1) for part in m["software"].split(", ")]
    if not all(len(p) == 2 for p in pairs):
        return "legacy", {"text": sentence}
    return "link.scope_software", {**params, "software": pairs}


def news_code(sentence: str) -> tuple[str, dict]:
    """(reason code, parameters) of a stored news ↔ device link sentence."""
    m = _NEWS_CERT.match(sentence or "")
    if m:
        return "news.certificate", {"cert": m["cert"]}
    m = _NEWS_PRODUCT.match(sentence or "")
    if m:
        return "news.product_registrant", {"product": m["product"], "registrant": m["registrant"]}
    return "legacy", {"text": sentence}


def link_sentence(code: str, params: dict) -> str:
    """The English sentence the code before this migration wrote for a guidance ↔ device link."""
    if code == "legacy":
        return params.get("text") or ""
    text = "device tags " + ", ".join(params.get("tags") or []) + f" match the scope of 《{params.get('title', '')}》"
    words = "、".join(params.get("words") or [])
    if code == "link.scope_equipment":
        text += f"; guidance about equipment ({words}), device not software"
    elif code == "link.scope_software":
        text += f"; guidance about software ({words}), device is software (" + ", ".join(
            f"{f}: {w}" for f, w in params.get("software") or []) + ")"
    elif code == "link.scope_ai":
        text += f"; guidance about software ({words}), device is AI"
    return text


def news_sentence(code: str, params: dict) -> str:
    """The English sentence the code before this migration wrote for a news ↔ device link."""
    if code == "news.certificate":
        return f"certificate {params.get('cert', '')} named in the article"
    if code == "news.product_registrant":
        return f"product {params.get('product', '')} and registrant {params.get('registrant', '')} named in the article"
    return params.get("text") or ""


_TABLES = {"policy_device": (link_code, link_sentence, 1000), "news_device": (news_code, news_sentence, 500)}


def _params(value) -> dict:
    # JSON columns come back decoded on PostgreSQL and as text from a plain SELECT on SQLite.
    return json.loads(value) if isinstance(value, str) else (value or {})


def upgrade() -> None:
    conn = op.get_bind()
    for table, (to_code, _, _) in _TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('reason_code', sa.String(length=40), nullable=True))
            batch_op.add_column(sa.Column('reason_params', sa.JSON(), nullable=True))
        t = sa.table(table, sa.column('id', sa.Integer), sa.column('reason', sa.String),
                     sa.column('reason_code', sa.String), sa.column('reason_params', sa.JSON))
        rows = conn.execute(sa.select(t.c.id, t.c.reason)).all()
        updates = []
        for row_id, sentence in rows:
            code, params = to_code(sentence)
            updates.append({"row": row_id, "code": code, "params": params})
        if updates:
            conn.execute(t.update().where(t.c.id == sa.bindparam("row")).values(
                reason_code=sa.bindparam("code"), reason_params=sa.bindparam("params")), updates)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('reason_code', existing_type=sa.String(length=40), nullable=False)
            batch_op.alter_column('reason_params', existing_type=sa.JSON(), nullable=False)
            batch_op.drop_column('reason')


def downgrade() -> None:
    conn = op.get_bind()
    for table, (_, to_sentence, length) in _TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('reason', sa.String(length=length), nullable=True))
        t = sa.table(table, sa.column('id', sa.Integer), sa.column('reason', sa.String),
                     sa.column('reason_code', sa.String), sa.column('reason_params', sa.JSON))
        rows = conn.execute(sa.select(t.c.id, t.c.reason_code, t.c.reason_params)).all()
        updates = [{"row": row_id, "text": to_sentence(code, _params(params))[:length]}
                   for row_id, code, params in rows]
        if updates:
            conn.execute(t.update().where(t.c.id == sa.bindparam("row")).values(reason=sa.bindparam("text")),
                         updates)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('reason', existing_type=sa.String(length=length), nullable=False)
            batch_op.drop_column('reason_params')
            batch_op.drop_column('reason_code')
