"""Inputs downloaded from free, keyless public sources: ``http`` (one GET with
conditional headers, timeouts and retries), ``market`` (the S&P 500, VIX and FRED
histories appended to ``raw/raw_market.csv``) and ``options`` (Cboe's delayed quotes of
an underlying saved after the close as that day's chain in ``raw/options/``)."""
