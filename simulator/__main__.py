"""`python -m simulator SCENARIO ...`: the same command as `clmtv simulate`, without the ledger's
front door (useful where the ledger's optional services are not installed or configured)."""

from __future__ import annotations

import argparse
import sys

from simulator import cli


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=cli.__doc__)
    cli.add_arguments(parser)
    return cli.run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
