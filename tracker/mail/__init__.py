"""Email: SMTP settings and the mailer (smtp), digests chosen per subscription (digest) and rendered (render), the
exactly-once outbox (outbox), signed links (tokens) and a subscriber's life from sign-up to unsubscribe
(subscriptions)."""
