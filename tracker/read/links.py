"""Guidance ↔ device links as the pages and the API read them, both ways (the links themselves are kept by
tracker.classify.links)."""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import load_only

from tracker.classify.reasons import Reason
from tracker.store.models import Device, Policy, PolicyDevice


def policies_of_device(device_id: int) -> Select:
    """(policy, link) pairs: the policies linked to a device and the stored reason.

    Only the policy fields a link shows are read: an AI device is linked to every general AI guidance (dozens to
    hundreds of policies), and each policy's full text can run to tens of kilobytes.
    """
    return (select(Policy, PolicyDevice).join(PolicyDevice, PolicyDevice.policy_id == Policy.id)
            .where(PolicyDevice.device_id == device_id)
            .options(load_only(Policy.id, Policy.title, Policy.issuer, Policy.issuer_printed, Policy.published_on, Policy.is_sample,
                               raiseload=True))
            .order_by(Policy.published_on.desc().nulls_last(), Policy.id))


def devices_of_policy(policy_id: int) -> Select:
    """(device, link) pairs: the devices a policy is linked to and why, by product name, reading only what a row of
    the list shows (a general AI guidance is linked to every AI device: thousands, so callers page it)."""
    return (select(Device, PolicyDevice).join(PolicyDevice, PolicyDevice.device_id == Device.id)
            .where(PolicyDevice.policy_id == policy_id)
            .options(load_only(Device.id, Device.cert_no, Device.product_name, Device.registrant, Device.is_sample,
                               raiseload=True),
                     load_only(PolicyDevice.id, PolicyDevice.rule_id, PolicyDevice.reason_code,
                               PolicyDevice.reason_params, raiseload=True))
            .order_by(Device.product_name, Device.id))


def device_count_of_policy(policy_id: int) -> Select:
    """How many devices a policy is linked to (the unique (policy_id, device_id) index answers it)."""
    return select(func.count()).select_from(PolicyDevice).where(PolicyDevice.policy_id == policy_id)


def reason_of(link) -> Reason:
    """Why a stored link holds (a guidance ↔ device or news ↔ device row: its reason code and parameters)."""
    return Reason(link.reason_code, link.reason_params or {})
