"""What `make run` starts on one machine: the sample servers and process runner (runner) and a local SMTP sink that
writes .eml files (mailsink). Production never imports it; only tracker.cli does."""
