"""One atheris target, run in a process of its own by `tools.fuzz` (atheris hands the process to
libFuzzer, which exits when its time is up or at the first crash).

`python -m tools.fuzz.targets TARGET [libFuzzer arguments and corpus folders]`; TARGET is a
fund's code, `dayfile` or `inbox`. A target may refuse its input with the typed error its callers
handle (`DomainError` for files, `MessageRejected` for messages); anything else raised is a
crash, which libFuzzer reports with the input that caused it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["ledger"]):
    from ledger.adapters.conformance import checks
    from ledger.adapters.registry import adapters, codec, get_adapter
    from ledger.app.demo_imports import sample_files
    from ledger.channels.dayfile import HEADER, parse_day_file
    from ledger.domain.errors import DomainError
    from ledger.settlement.keys import HUB, Party, SigningKey, TrustRegistry
    from ledger.settlement.messages import (
        MessageRejected,
        MessageType,
        sign_message,
        verify_message,
    )

DAY_SEED = ((",".join(HEADER) + "\n").encode()
            + b"mw-1,payment,wkr_abcd1234,VN-VSS,voluntary-si,158714,THB,1000,1100000,VND\n" * 3)
Target = Callable[[bytes], None]


def _fund(fund: str) -> tuple[Target, list[bytes]]:
    adapter, found = get_adapter(fund), codec(fund)

    def run(data: bytes) -> None:
        try:
            result = checks.check_file(adapter, found, data.splitlines(keepends=True))
        except DomainError:
            return  # a typed refusal
        if result.fund != fund:
            raise AssertionError(f"checked as {result.fund}")

    return run, [path.read_bytes() for path in sample_files(fund)]


def _dayfile() -> tuple[Target, list[bytes]]:
    def run(data: bytes) -> None:
        try:
            parse_day_file(data)
        except DomainError:
            return

    return run, [DAY_SEED]


def _inbox() -> tuple[Target, list[bytes]]:
    key = SigningKey.generate(Party("TH-SSO"))
    registry = TrustRegistry()
    registry.load_jwks(Party("TH-SSO"), {"keys": [key.public_jwk()]})
    now = int(time.time())
    good = sign_message(key, aud=HUB, typ=MessageType.TRANSFER_REQUEST, seq=1,
                        body={"action": "approve", "flow_id": "pt-1"}, iat=now, jti="fuzz-1")

    def run(data: bytes) -> None:
        # Bytes as the inbox receives them: a token decoded from the request's JSON.
        token = data.decode("utf-8", errors="surrogateescape")
        try:
            message = verify_message(token, registry, HUB, now)
        except MessageRejected as exc:
            if exc.reason is None:
                raise AssertionError("a refusal without a reason") from exc
            return
        if message.iss != "TH-SSO":
            raise AssertionError(f"accepted a message from {message.iss}")

    return run, [good.encode()]


def target(name: str) -> tuple[Target, list[bytes]]:
    """The function to fuzz and its seed inputs."""
    if name == "dayfile":
        return _dayfile()
    if name == "inbox":
        return _inbox()
    if name in adapters():
        return _fund(name)
    raise SystemExit(f"no fuzz target {name!r}: a fund's code, dayfile or inbox")


def main() -> None:
    name, rest = sys.argv[1], sys.argv[2:]
    run, seeds = target(name)
    corpus = next((Path(a) for a in rest if not a.startswith("-")), None)
    if corpus is not None and not any(corpus.iterdir()):
        for number, seed in enumerate(seeds):
            (corpus / f"seed-{number}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *rest], run)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
