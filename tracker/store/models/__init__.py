"""SQLAlchemy 2 typed models of the store (DESIGN.md §3), by concept: `base` (the declarative base, UTC datetimes),
`data` (what the sources say and where it came from), `operation` (subscribers, mail, alerts, accounts, audit log), `notify` (chat channels, watches, deliveries).

Importing this package registers every table on `Base.metadata` (Alembic and the tests read it whole), and its names
are the ones the rest of the tracker imports: `from tracker.store.models import Device`.
"""
from tracker.store.models.base import NAMING_CONVENTION, Base, UTCDateTime
from tracker.store.models.data import (
    RUN_OUTCOMES,
    ApprovalEventRow,
    AttachmentFile,
    CertificateEvent,
    Company,
    Device,
    DeviceIdentifier,
    NewsDevice,
    NewsItem,
    Passage,
    Policy,
    PolicyAttachment,
    PolicyDevice,
    RecordSource,
    Revision,
    ScrapeRun,
    SourceDocument,
    Tag,
)
from tracker.store.models.notify import Channel, Delivery, Watch, WatchChannel
from tracker.store.models.operation import (
    AuditLog,
    Consent,
    DataStamp,
    LoginAttempt,
    Outbox,
    SourceAlert,
    Subscriber,
    Subscription,
    User,
)

__all__ = [
    "NAMING_CONVENTION", "Base", "UTCDateTime", "RUN_OUTCOMES",
    "Company", "Device", "DeviceIdentifier", "ApprovalEventRow", "CertificateEvent", "NewsItem", "NewsDevice", "Policy", "PolicyDevice", "ScrapeRun", "SourceDocument", "RecordSource", "Revision", "Tag",
    "AttachmentFile", "PolicyAttachment", "Passage",
    "Subscriber", "Consent",
    "DataStamp", "Subscription", "Outbox", "SourceAlert", "User", "LoginAttempt", "AuditLog",
    "Channel", "Watch", "WatchChannel", "Delivery",
]
