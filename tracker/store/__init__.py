"""The store and its one write path: models, engine and sessions, migrations, the shared write helpers (write), writers
per record kind (devices, policies, tags), the effective-tag rule (tag_rule), the search index (search, bigrams), the list-order
index (sort_index) and process-wide locks (locks)."""
