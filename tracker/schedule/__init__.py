"""The scheduler process: cron jobs per source from the source's own settings, digests, outbox and health checks
(scheduler, jobs), one leader at a time, and source-health alerts to administrators (alerts)."""
