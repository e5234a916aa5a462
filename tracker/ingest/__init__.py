"""One run of a source: fetch → archive → parse → store → classify → an outcome recorded in a ScrapeRun that always
reaches an end state (run), and the routing of parsed records to the store writers (write)."""
