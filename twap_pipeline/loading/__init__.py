"""From source objects to committed rows: list the run's days (``listing``), land and parse
each file (``files``), load each day in its own transaction with its checks (``days``), and
refresh the per-TWAP summary (``orders``)."""
