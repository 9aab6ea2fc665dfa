"""The crash-and-retry test (issue 16 item 1): clients post over HTTP while the API processes and
PostgreSQL are killed with SIGKILL and restarted; then a checker that can fail.

- `cluster`: a PostgreSQL cluster of the test's own (initdb in a temporary directory, its own
  port), started, killed and restarted;
- `servers`: `clmtv serve` processes, killed and restarted;
- `workload`: concurrent clients that drop answers at random and retry (same ids and keys, or new
  ones in the control run);
- `checker`: what the database must hold afterwards;
- `run`: the whole run; `python3 -m tools.crashtest --help` is its command line (docs/security.md).
"""
