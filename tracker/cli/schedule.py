"""`tracker schedule`: the scheduler process (tracker.schedule), with the source registry handed down to it."""
from __future__ import annotations

import logging
from typing import Iterable

import click

from tracker.cli.state import AppState
from tracker.schedule.jobs import time_limit
from tracker.schedule.scheduler import job_specs, parse_when, run_scheduler


def _pairs(values: Iterable[str], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            raise click.BadParameter(f"{value!r}: expected {what}")
        out[key.strip()] = rest.strip()
    return out


@click.command("schedule")
@click.option("--job", "jobs", multiple=True, metavar="ID=WHEN",
              help="Override a job's schedule, e.g. --job 'digest:daily=0 7 * * *' or --job 'scrape:udi=every 6h'.")
@click.option("--time-limit", "limits", multiple=True, metavar="SLUG=SECONDS", help="Override a scrape's time limit.")
@click.option("--standby-poll", default=5.0, show_default=True, help="Seconds between lock attempts on standby.")
@click.option("--list", "list_only", is_flag=True, help="Print the jobs and their schedules, then exit.")
@click.pass_obj
def schedule_command(state: AppState, jobs: tuple[str, ...], limits: tuple[str, ...], standby_poll: float,
                     list_only: bool) -> None:
    """Run the scheduler (its own process; a second one waits as a hot standby)."""
    settings = state.settings
    overrides = _pairs(jobs, "ID=WHEN")
    try:
        time_limits = {k: float(v) for k, v in _pairs(limits, "SLUG=SECONDS").items()}
        specs = job_specs(settings, state.sources.values(), overrides)
        triggers = {spec.id: parse_when(spec.when, settings.timezone) for spec in specs}
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if list_only:
        for spec in specs:
            limit = (f" limit={time_limit(settings, spec.args[0], state.sources, time_limits):g}s"
                     if spec.id.startswith("scrape:") else "")
            click.echo(f"{spec.id:24} {spec.when:18} tz={settings.timezone} "
                       f"misfire_grace={spec.misfire_grace_time}s{limit}  ({triggers[spec.id]})")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(process)d] %(name)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # we log each job's outcome ourselves
    raise SystemExit(run_scheduler(settings, state.sources, state.lookup, overrides=overrides,
                                   time_limits=time_limits, standby_poll=standby_poll))
