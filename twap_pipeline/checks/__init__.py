"""Asset checks, one module per table. Every load evaluates its checks inside the transaction
of each day it writes, before that day commits: a day that fails a blocking check is rolled back
alone, and the run reports every day's verdict (there is no ingest log: these are the proof)."""
