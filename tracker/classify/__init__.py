"""Classification against the taxonomy of TAXONOMY.md: the taxonomy as data (taxonomy), rules as data (rules), the
classifier with evidence (classifier), the guidance ↔ device link rules (link_rules) and their upkeep in the store
(links)."""
