"""Every question the web pages, the API, exports, feeds and digests ask of the store, in one place: list filters
(filters), text search (search), list and tag selects (lists, tags), executed page answers (pages), one entity with
everything around it (detail), guidance links (links), as-of replay (asof), aggregates (stats) and source health
(health)."""
