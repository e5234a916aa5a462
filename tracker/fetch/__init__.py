"""Fetching: HTTP and browser fetchers, charset decoding, challenge detection and the WARC archive of raw bytes.

`base` is what every fetcher shares (Response, errors, the Fetcher protocol), `http` and `browser` are the two
fetchers, `factory.make_fetcher` picks one for a source, `charset` decodes text, `archive` keeps the raw copies.
"""
