"""A server factory for the crash run: imports the API once, then forks a `clmtv serve` process
for each line `PORT LOGFILE` read on stdin and answers its pid.

Importing the app takes seconds of CPU (more on a busy machine); a crash run kills and restarts
servers many times. A forked child is a whole server process of its own (its own session, so
SIGKILL to its process group kills it and nothing else), running `clmtv serve` from the start:
settings, migrations, the durability check, uvicorn. Only the module imports are shared. Children
are reaped automatically (SIGCHLD ignored); the factory ends when stdin closes.
"""

from __future__ import annotations

import os
import signal
import sys


def main() -> None:
    # Imported once here, for every child.
    import uvicorn  # noqa: F401

    import ledger.api.app
    import ledger.cli

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    while line := sys.stdin.readline():
        port, log = line.split(maxsplit=1)
        pid = os.fork()
        if pid == 0:
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            out = os.open(log.strip(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.close(out)
            # Not closed: a socket given fd 0 would trip uvloop's assertion when it closes.
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            try:
                code = ledger.cli.main(["serve", "--port", port, "--no-access-log"])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code or 0)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
