"""Accounts and roles (users), the append-only audit log (log), reviewer decisions on tags (review) and the
verifiable audit bundle of a period with its offline check (bundle)."""
