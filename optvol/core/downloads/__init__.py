"""Inputs downloaded from free, keyless public sources: ``http`` (one GET with
conditional headers, timeouts and retries) and ``market`` (the S&P 500, VIX and FRED
histories appended to ``raw/raw_market.csv``)."""
