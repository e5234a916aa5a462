"""NMPA AI approval and policy tracker: domain model, store, classification and the `tracker` command."""
