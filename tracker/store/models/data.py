"""Tables of what the sources say and where it came from: companies, devices and their identifiers, approval events,
news, policies and their links, scrape runs, source documents, record ↔ document links, revisions and tags.

These rows change only through tracker.store.write, which writes a `Revision` row for every changed field. `Revision`
and `RecordSource` are append-only; the first migration installs triggers that refuse UPDATE and DELETE on
`revision` (and migration 0008 on `certificate_event`), so history cannot be rewritten even by hand-written SQL.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracker.store.models.base import Base

RUN_OUTCOMES = ("running", "ok", "empty", "blocked", "failed", "interrupted")


class Company(Base):
    """A registrant (注册人), keyed by its Chinese name; the credit code is kept when a source gives it."""

    __tablename__ = "company"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(500))
    credit_code: Mapped[str | None] = mapped_column(String(40), index=True)
    first_seen: Mapped[datetime]


class Device(Base):
    """One registration certificate (keyed by the normalised certificate number) and what the sources say of it."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    cert_no: Mapped[str] = mapped_column(String(64), unique=True)
    product_name: Mapped[str] = mapped_column(String(500))
    brand: Mapped[str | None] = mapped_column(String(500))
    registrant: Mapped[str | None] = mapped_column(String(300), index=True)
    registrant_en: Mapped[str | None] = mapped_column(String(500))
    credit_code: Mapped[str | None] = mapped_column(String(40))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    mgmt_class: Mapped[int | None] = mapped_column(Integer, index=True)
    origin: Mapped[str | None] = mapped_column(String(16), index=True)
    first_reg_year: Mapped[int | None] = mapped_column(Integer, index=True)
    category_code: Mapped[str | None] = mapped_column(String(8))
    catalogue_code: Mapped[str | None] = mapped_column(String(32), index=True)
    model_spec: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    device_kind: Mapped[str | None] = mapped_column(String(32))
    issued_on: Mapped[date | None] = mapped_column(Date, index=True)
    acceptance_no: Mapped[str | None] = mapped_column(String(64))
    di_published_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    is_ai: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    ai_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    field_sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class DeviceIdentifier(Base):
    """A UDI device identifier (最小销售单元产品标识) of a certificate."""

    __tablename__ = "device_identifier"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    udi_di: Mapped[str] = mapped_column(String(64), unique=True)
    first_seen: Mapped[datetime]


class ApprovalEventRow(Base):
    """A row of an NMPA approval-delivery notice naming a certificate (issue or correction)."""

    __tablename__ = "approval_event"
    __table_args__ = (UniqueConstraint("cert_no", "notice_url", "acceptance_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    cert_no: Mapped[str] = mapped_column(String(64))
    notice_url: Mapped[str] = mapped_column(String(1000))
    acceptance_no: Mapped[str] = mapped_column(String(64), default="")
    product_name: Mapped[str] = mapped_column(String(500))
    registrant: Mapped[str | None] = mapped_column(String(300))
    issued_on: Mapped[date | None] = mapped_column(Date)
    notice_date: Mapped[date | None] = mapped_column(Date)
    is_correction: Mapped[bool] = mapped_column(Boolean, default=False)
    raw_row: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime]


class CertificateEvent(Base):
    """One event in a certificate's life (first registration, change, renewal, correction, cancellation, expiry),
    from the source that says so: its date, the document it came from and what it changed.

    Append-only like `revision` (database triggers refuse UPDATE and DELETE): a later notice adds an event, it never
    rewrites an earlier one. `key` makes a re-read of the same document write nothing. `changes` is a list of
    {"field", "before", "after"}; `detail` holds what else the source said (acceptance number, the row as printed).
    """

    __tablename__ = "certificate_event"
    __table_args__ = (Index("ix_certificate_event_kind_date", "kind", "event_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(1200), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    cert_no: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    event_date: Mapped[date | None] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(40))
    source_url: Mapped[str | None] = mapped_column(String(1000))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_run.id"))
    changes: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recorded_at: Mapped[datetime] = mapped_column(index=True)


class NewsItem(Base):
    """An NMPA news article announcing approvals; linked to the devices it names."""

    __tablename__ = "news_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    title: Mapped[str] = mapped_column(String(1000))
    published_on: Mapped[date | None] = mapped_column(Date, index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    products: Mapped[list[Any]] = mapped_column(default=list)
    companies: Mapped[list[Any]] = mapped_column(default=list)
    cert_nos: Mapped[list[Any]] = mapped_column(default=list)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime]


class NewsDevice(Base):
    """Why a news item is linked to a device (a certificate number, or product + company match), as a reason code
    with its parameters (texts: tracker.classify.reasons)."""

    __tablename__ = "news_device"
    __table_args__ = (UniqueConstraint("news_id", "device_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    news_id: Mapped[int] = mapped_column(ForeignKey("news_item.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_params: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Policy(Base):
    """One policy document, de-duplicated across sources by `key` (document number, else title+issuer+date)."""

    __tablename__ = "policy"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(600), unique=True)
    title: Mapped[str] = mapped_column(String(1000))
    # The document's own name (draft markers, "关于发布…的通告" wrapper and punctuation removed): how one document
    # listed under different titles by different sources is recognised, and how a draft finds its final version.
    title_key: Mapped[str] = mapped_column(String(600), index=True)
    issuer: Mapped[str | None] = mapped_column(String(300), index=True)
    doc_no: Mapped[str | None] = mapped_column(String(120))
    # What the page prints, beside the canonical forms above (de-duplication and filters use those).
    issuer_printed: Mapped[str | None] = mapped_column(String(300))
    doc_no_printed: Mapped[str | None] = mapped_column(String(120))
    doc_type: Mapped[str | None] = mapped_column(String(32), index=True)
    stage: Mapped[str | None] = mapped_column(String(16), index=True)
    published_on: Mapped[date | None] = mapped_column(Date, index=True)
    written_on: Mapped[date | None] = mapped_column(Date)
    url: Mapped[str] = mapped_column(String(1000))
    summary: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(300))
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    final_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    is_ai: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    field_sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]

    # What pages, exports, feeds and e-mails show: the words on the page, else the canonical form.
    @property
    def issuer_shown(self) -> str | None:
        """The issuer as printed, else the canonical label."""
        return self.issuer_printed or self.issuer

    @property
    def doc_no_shown(self) -> str | None:
        """The document number as printed, else the canonical number."""
        return self.doc_no_printed or self.doc_no


class PolicyDevice(Base):
    """A guidance or rule linked to a device it concerns, with the reason for the link as a code with its parameters
    (texts: tracker.classify.reasons)."""

    __tablename__ = "policy_device"
    __table_args__ = (UniqueConstraint("policy_id", "device_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(80))
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class ScrapeRun(Base):
    """One run of one source; always reaches an end state (ok, empty, blocked, failed, interrupted)."""

    __tablename__ = "scrape_run"
    __table_args__ = (Index("ix_scrape_run_source_started", "source", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str] = mapped_column(String(20), default="cli")
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="running", index=True)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    out_of_scope: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)


class SourceDocument(Base):
    """A fetched (or imported) raw document: where it came from, when, its hash and where its WARC copy lives."""

    __tablename__ = "source_document"
    __table_args__ = (UniqueConstraint("url", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40), index=True)
    url: Mapped[str] = mapped_column(String(1000))
    key: Mapped[str | None] = mapped_column(String(1000))
    fetched_at: Mapped[datetime]
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    warc_path: Mapped[str | None] = mapped_column(String(500))
    warc_offset: Mapped[int | None] = mapped_column(Integer)
    warc_length: Mapped[int | None] = mapped_column(Integer)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_run.id"), index=True)


class RecordSource(Base):
    """Links a stored row to every source document that produced it (append-only provenance)."""

    __tablename__ = "record_source"
    __table_args__ = (
        UniqueConstraint("entity_type", "entity_id", "document_id"),
        Index("ix_record_source_document", "document_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(ForeignKey("source_document.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_run.id"))
    linked_at: Mapped[datetime]


class Revision(Base):
    """One changed field of one entity: append-only (database triggers refuse UPDATE and DELETE).

    A row created from nothing gets one revision per non-empty field with `old_value` NULL, so any past state can be
    rebuilt from revisions alone.
    """

    __tablename__ = "revision"
    __table_args__ = (Index("ix_revision_entity", "entity_type", "entity_id", "changed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scrape_run.id"), index=True)
    actor: Mapped[str | None] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(index=True)


class Tag(Base):
    """A taxonomy tag on a device or policy, made by a rule (with its version) or by a reviewer, with evidence."""

    __tablename__ = "tag"
    __table_args__ = (
        UniqueConstraint("entity_type", "entity_id", "facet", "code", "method"),
        # Covers a tag filter's lookup of tagged ids (tracker.read.tags.has_tag, lookup="in") without reading rows.
        Index("ix_tag_code_effective", "facet", "code", "entity_type", "active", "method", "decision", "entity_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    facet: Mapped[str] = mapped_column(String(24))
    code: Mapped[str] = mapped_column(String(80))
    method: Mapped[str] = mapped_column(String(16))  # "rule" | "reviewer"
    decision: Mapped[str | None] = mapped_column(String(16))  # reviewer: "confirm" | "remove" | "add"
    rule_ids: Mapped[str | None] = mapped_column(String(300))
    rule_version: Mapped[str | None] = mapped_column(String(16))
    taxonomy_version: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AttachmentFile(Base):
    """One distinct attachment file (by URL): its archived bytes, how its text extraction ended and why.

    `state` is a code of tracker.extract.states; its text is in `passage` rows (one per page or part). Fetched once:
    a later run only links another policy to it, unless the fetch failed (`fetch_failed` is tried again).
    """

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    source: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(500))
    declared_type: Mapped[str | None] = mapped_column(String(16))
    detected_type: Mapped[str | None] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int | None] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("source_document.id"))
    state: Mapped[str] = mapped_column(String(16), index=True)
    state_detail: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    chars: Mapped[int] = mapped_column(Integer, default=0)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime | None]
    extracted_at: Mapped[datetime]


class PolicyAttachment(Base):
    """A policy's attachment, in the order its page lists them, under the name the page gives it."""

    __tablename__ = "policy_attachment"
    __table_args__ = (UniqueConstraint("policy_id", "attachment_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(500))


class Passage(Base):
    """A unit of full text search: one page (or part) of an attachment, or the body of a policy (page 0).

    Exactly one of `attachment_id` and `policy_id` is set. The search index `passage_search` (tracker.store.search)
    is kept by triggers on this table.
    """

    __tablename__ = "passage"
    __table_args__ = (
        UniqueConstraint("attachment_id", "page_no"),
        UniqueConstraint("policy_id", "page_no"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id", ondelete="CASCADE"))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"))
    page_no: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
