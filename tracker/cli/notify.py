"""`tracker channel …` and `tracker watch …`: team chat channels and what they are told about.

`channel add` reads the secret from standard input (--secret-stdin) rather than the command line, which other users
of the machine can read; a webhook channel added without one gets a generated secret, printed once. `channel test`
posts a test message through the outbox and exits 1 when the platform refused it, printing its answer.
"""
from __future__ import annotations

import sys

import click

from tracker.cli.state import AppState, echo_json, operator
from tracker.clock import utcnow
from tracker.ids.policytype import STAGES as POLICY_STAGES
from tracker.notify.channels import LANGS, ChannelError, add_channel, list_channels, remove_channel, send_test_message
from tracker.notify.kinds import KINDS
from tracker.notify.outbox import send_pending
from tracker.notify.watches import FREQUENCIES, WatchError, add_watch, list_watches, remove_watch, run_watches


@click.group("channel")
def channel_group() -> None:
    """Chat channels: WeCom, DingTalk, Feishu/Lark, Slack, signed webhooks, Apprise URLs."""


@channel_group.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(list(KINDS)), required=True)
@click.option("--url", required=True, help="The bot's webhook URL (or an Apprise URL for --kind apprise).")
@click.option("--secret-stdin", is_flag=True, help="Read the signing secret (DingTalk 加签, Feishu 签名校验, "
              "webhook) from the first line of standard input.")
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True, help="Language of its messages.")
@click.pass_obj
def channel_add(state: AppState, name: str, kind: str, url: str, secret_stdin: bool, lang: str) -> None:
    """Add channel NAME."""
    secret = sys.stdin.readline().rstrip("\r\n") if secret_stdin else None
    try:
        with state.sessions.begin() as session:
            channel, generated = add_channel(session, name=name, kind=kind, url=url, secret=secret, lang=lang,
                                             actor=operator(), now=utcnow())
            channel_id = channel.id
    except ChannelError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"channel {name} added (id {channel_id}, {kind})")
    if generated:
        click.echo(f"signing secret (shown once; give it to the receiver): {generated}")


@channel_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def channel_list(state: AppState, as_json: bool) -> None:
    """Every channel, its URL masked, with its delivery counts."""
    with state.sessions() as session:
        views = list_channels(session)
    for v in views:
        if as_json:
            echo_json(v.__dict__)
        else:
            click.echo(f"{v.name:20} {v.kind:9} {v.masked_url:40} {'signed' if v.signed else 'unsigned':8} {v.lang} "
                       f"sent={v.sent} pending={v.pending} failed={v.failed}"
                       + ("" if v.active else " (inactive)") + (" ALERTING" if v.alert_state == "alerting" else ""))


@channel_group.command("test")
@click.argument("name")
@click.pass_obj
def channel_test(state: AppState, name: str) -> None:
    """Post a test message to channel NAME now; exit 1 with the platform's answer when it fails."""
    try:
        outcome = send_test_message(state.sessions, state.settings, name, now=utcnow, actor=operator())
    except ChannelError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{name}: {outcome.status}" + (f" — {outcome.answer}" if outcome.answer else ""))
    sys.exit(0 if outcome.ok else 1)


@channel_group.command("remove")
@click.argument("name")
@click.pass_obj
def channel_remove(state: AppState, name: str) -> None:
    """Remove channel NAME (and its place in every watch)."""
    try:
        with state.sessions.begin() as session:
            remove_channel(session, name, actor=operator(), now=utcnow())
    except ChannelError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"channel {name} removed")


@click.group("watch")
def watch_group() -> None:
    """Watches: what a team follows, and into which channels it is posted."""


@watch_group.command("add")
@click.argument("name")
@click.option("--channel", "channels", multiple=True, required=True, help="A channel to post into (repeatable).")
@click.option("--area", "areas", multiple=True, help="A taxonomy area or sub-area code (repeatable).")
@click.option("--function", "functions", multiple=True, help="A function code (repeatable).")
@click.option("--disease", "diseases", multiple=True, help="A disease code (repeatable).")
@click.option("--company", "companies", multiple=True, help="A registrant name or part of one (repeatable).")
@click.option("--certificate", "certificates", multiple=True,
              help="A registration certificate number, e.g. 国械注准20213219904 (repeatable).")
@click.option("--keyword", "keywords", multiple=True, help="A word in names or titles (repeatable).")
@click.option("--policy-type", "policy_types", multiple=True, help="A policy type code (repeatable).")
@click.option("--issuer", "issuers", multiple=True, help="A policy issuer code, e.g. nmpa, cmde (repeatable).")
@click.option("--stage", "stages", multiple=True, type=click.Choice(POLICY_STAGES),
              help="A policy stage, e.g. draft (repeatable).")
@click.option("--all-devices", is_flag=True, help="Not only AI devices and policies.")
@click.option("--only", type=click.Choice(["devices", "policies"]), default=None, help="Follow only one kind.")
@click.option("--frequency", type=click.Choice(FREQUENCIES), default="immediate", show_default=True)
@click.option("--hour", type=click.IntRange(0, 23), default=0, show_default=True,
              help="Daily watches: the local hour after which the day's batch goes out (0: the first run of the day).")
@click.pass_obj
def watch_add(state: AppState, name: str, channels, areas, functions, diseases, companies, certificates, keywords,
              policy_types, issuers, stages, all_devices: bool, only: str | None, frequency: str, hour: int) -> None:
    """Add watch NAME: what arrives from now on and matches every given facet (any value within one)."""
    filters = {"areas": list(areas), "functions": list(functions), "diseases": list(diseases),
               "companies": list(companies), "certificates": list(certificates), "keywords": list(keywords), "policy_types": list(policy_types),
               "issuers": list(issuers), "stages": list(stages), "ai_only": not all_devices}
    try:
        with state.sessions.begin() as session:
            watch = add_watch(session, name=name, filters=filters, channels=list(channels), frequency=frequency,
                              include_devices=only != "policies", include_policies=only != "devices", daily_hour=hour,
                              actor=operator(), now=utcnow())
            watch_id = watch.id
    except WatchError as exc:
        raise click.UsageError(str(exc)) from None
    when = f"daily after {hour:02d}:00" if frequency == "daily" else frequency
    click.echo(f"watch {name} added (id {watch_id}, {when}, into {', '.join(channels)})")


@watch_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def watch_list(state: AppState, as_json: bool) -> None:
    """Every watch with its filters and channels."""
    with state.sessions() as session:
        views = list_watches(session)
    for v in views:
        if as_json:
            echo_json({**v.__dict__, "checked_until": v.checked_until.isoformat()})
        else:
            set_filters = {k: val for k, val in v.filters.items() if val and k != "ai_only"}
            when = f"daily {v.daily_hour:02d}:00" if v.frequency == "daily" else v.frequency
            click.echo(f"{v.name:20} {when:11} → {', '.join(v.channels) or '(no channel)'}  "
                       f"{set_filters or 'everything'}{'' if v.filters.get('ai_only', True) else ' (all devices)'}")


@watch_group.command("remove")
@click.argument("name")
@click.pass_obj
def watch_remove(state: AppState, name: str) -> None:
    """Remove watch NAME."""
    try:
        with state.sessions.begin() as session:
            remove_watch(session, name, actor=operator(), now=utcnow())
    except WatchError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"watch {name} removed")


@watch_group.command("run")
@click.pass_obj
def watch_run(state: AppState) -> None:
    """Run the watches now and post what is pending (what the scheduler's notify:watches job does every minute)."""
    fan = run_watches(state.sessions, state.settings, utcnow())
    sent = send_pending(state.sessions, state.settings, now=utcnow)
    click.echo(f"watches={fan.watches} events={fan.events} queued={fan.queued} sent={sent.sent} "
               f"retry={sent.retry} failed={sent.failed}")


COMMANDS = (channel_group, watch_group)
