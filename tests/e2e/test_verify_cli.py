"""`clmtv verify` trusts only what it should: https keys (http only to loopback, by flag), no
redirects, bounded sizes, a pinned type and audience; every input problem is one line and exit
code 2, an invalid document exit code 1 (issue 25 finding 11, issue 22 item 4, issue 17 item 5)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import cli
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey
from ledger.settlement.messages import MessageType, sign_message

WORKER = "wkr_verify0001"


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path, HubSigner]:
    signer = HubSigner(SigningKey.generate(HUB))
    token = signer.sign_statement(WORKER, {"worker_id": WORKER, "funds": []})
    (tmp_path / "statement.jws").write_text(token)
    (tmp_path / "jwks.json").write_text(json.dumps(signer.jwks()))
    return tmp_path / "statement.jws", tmp_path / "jwks.json", signer


@pytest.fixture
def jwks_server(signed: tuple[Path, Path, HubSigner]) -> Iterator[str]:
    body = signed[1].read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/moved/.well-known/jwks.json":
                self.send_response(302)
                self.send_header("Location", "/.well-known/jwks.json")
                self.end_headers()
                return
            payload = b"x" * (300 * 1024) if self.path.startswith("/huge") else body
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["verify", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_audience_is_checked_when_given(signed: tuple[Path, Path, HubSigner],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    token, jwks, _ = signed
    code, out, _ = _verify(capsys, str(token), "--jwks", str(jwks), "--audience", WORKER)
    assert code == 0 and f"to {WORKER} (checked)" in out
    code, _, err = _verify(capsys, str(token), "--jwks", str(jwks), "--audience", "wkr_other001")
    assert code == 1 and "invalid: wrong_audience" in err
    code, out, _ = _verify(capsys, str(token), "--jwks", str(jwks))
    assert code == 0 and "NOT checked" in out


def test_worker_a_statement_presented_for_worker_b_is_refused(
        signed: tuple[Path, Path, HubSigner], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A genuine statement of A, checked for B with --worker (the alias of --audience): invalid,
    exit 1. A statement whose body is about someone else than its addressee is refused even
    without --worker: the subject is part of what is signed."""
    token, jwks, signer = signed
    code, _, err = _verify(capsys, str(token), "--jwks", str(jwks), "--worker", "wkr_other001")
    assert code == 1 and "invalid: wrong_audience" in err
    code, out, _ = _verify(capsys, str(token), "--jwks", str(jwks), "--worker", WORKER)
    assert code == 0 and f"to {WORKER} (checked)" in out
    borrowed = signer.sign_statement(WORKER, {"worker_id": "wkr_other001", "funds": []})
    (tmp_path / "borrowed.jws").write_text(borrowed)
    code, _, err = _verify(capsys, str(tmp_path / "borrowed.jws"), "--jwks", str(jwks))
    assert code == 1 and "is about 'wkr_other001' but addressed to 'wkr_verify0001'" in err


def test_the_type_is_pinned(signed: tuple[Path, Path, HubSigner], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    _, jwks, signer = signed
    ack = sign_message(signer.keyring.current(int(time.time())), aud="TH-SSO",
                       typ=MessageType.TRANSFER_ACK, seq=1, body={"acks": []},
                       iat=int(time.time()))
    (tmp_path / "ack.jws").write_text(ack)
    code, _, err = _verify(capsys, str(tmp_path / "ack.jws"), "--jwks", str(jwks))
    assert code == 2 and "is a transfer.ack, not a statement.worker" in err
    code, _, _ = _verify(capsys, str(tmp_path / "ack.jws"), "--jwks", str(jwks),
                         "--type", "transfer.ack")
    assert code == 0


def test_keys_over_http_need_the_loopback_flag_and_no_redirect_or_flood(
    signed: tuple[Path, Path, HubSigner], jwks_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = str(signed[0])
    code, _, err = _verify(capsys, token, "--jwks", jwks_server)
    assert code == 2 and "must come over https" in err
    code, _, _ = _verify(capsys, token, "--jwks", jwks_server, "--allow-http-loopback")
    assert code == 0
    code, _, err = _verify(capsys, token, "--jwks", jwks_server + "/moved",
                           "--allow-http-loopback")
    assert code == 2 and "redirects (302" in err
    code, _, err = _verify(capsys, token, "--jwks", jwks_server + "/huge/x.json",
                           "--allow-http-loopback")
    assert code == 2 and "more than 262144 bytes" in err
    code, _, err = _verify(capsys, token, "--jwks", "http://example.invalid/keys.json",
                           "--allow-http-loopback")
    assert code == 2 and "must come over https" in err  # not loopback: the flag does not help


@pytest.mark.parametrize(("args", "said"), [
    (["missing.jws", "--jwks", "jwks.json"], "no such file: missing.jws"),
    (["statement.jws", "--jwks", "nowhere.json"], "no such JWKS file: nowhere.json"),
    (["statement.jws", "--jwks", "https://127.0.0.1:1/keys.json"], "cannot fetch"),
    (["statement.jws", "--jwks", "jwks.json", "--at", "yesterday"], "--at 'yesterday'"),
])
def test_every_input_problem_is_one_line_and_exit_code_2(
    signed: tuple[Path, Path, HubSigner], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, args: list[str], said: str
) -> None:
    monkeypatch.chdir(signed[0].parent)
    code, _, err = _verify(capsys, *args)
    assert code == 2 and said in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
