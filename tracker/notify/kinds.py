"""The channel kinds by name: how each posts a message (tracker.notify.transport.Kind)."""
from __future__ import annotations

from tracker.notify.apprise_kind import AppriseKind
from tracker.notify.platforms import DingTalk, Feishu, Slack, WeCom
from tracker.notify.transport import Kind
from tracker.notify.webhook import Webhook

KINDS: dict[str, Kind] = {k.name: k for k in (Webhook(), WeCom(), DingTalk(), Feishu(), Slack(), AppriseKind())}
# Kinds whose bot may be set up with a signing secret (required for the webhook, optional for DingTalk and Feishu).
SIGNED = {"webhook": "required", "dingtalk": "optional", "feishu": "optional"}


def kind(name: str) -> Kind:
    """The kind called `name`; KeyError naming the known ones otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown channel kind {name!r}: one of {', '.join(KINDS)}") from None
