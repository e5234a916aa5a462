"""`tracker classify` (one text, tags with evidence, as JSON) and `tracker reclassify` (everything stored, after a
rules change; reviewer decisions stay)."""
from __future__ import annotations

import click

from tracker.audit import log as auditlog
from tracker.classify import classifier
from tracker.cli.state import AppState, echo_json, operator
from tracker.clock import utcnow
from tracker.ingest.write import reclassify_all
from tracker.store.write import WriteContext


@click.command("classify")
@click.argument("text")
@click.option("--description", default=None, help="Product description (产品描述 / 结构及组成).")
@click.option("--policy", is_flag=True, help="Classify TEXT as a policy title instead of a product name.")
def classify_cmd(text: str, description: str | None, policy: bool) -> None:
    """Classify a product name (or, with --policy, a policy title) and print tags with evidence as JSON."""
    if policy:
        result = classifier.classify_policy(title=text, body=description)
    else:
        result = classifier.classify_device(name=text, description=description)
    echo_json(result.to_json())


@click.command("reclassify")
@click.pass_obj
def reclassify_cmd(state: AppState) -> None:
    """Run the classifier over every stored device and policy (after a rules change); reviewer decisions stay."""
    version = classifier.RULES_VERSION
    now = utcnow()
    with state.sessions.begin() as session:
        devices, policies = reclassify_all(session, WriteContext(source="reclassify", now=now,
                                                                 actor=f"classifier rules v{version}"))
        auditlog.record(session, actor=operator(), action="reclassify", now=now,
                        detail={"rules_version": version, "devices_changed": devices, "policies_changed": policies})
    click.echo(f"rules v{version}: tags changed on {devices} devices and {policies} policies")


COMMANDS = (classify_cmd, reclassify_cmd)
