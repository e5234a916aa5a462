"""The `tracker` command, one module per command group; the composition root that hands settings, the store and
the scrapers registry to everything else. Nothing outside this package imports it."""
