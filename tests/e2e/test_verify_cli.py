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


def test_a_statement_reads_in_each_currencys_convention(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Amounts as a person writes them (268,975.00 THB, 1,185,840 JPY), not minor units; each
    scheme with its months, balance and payers (issue 22 item 8)."""
    signer = HubSigner(SigningKey.generate(HUB))

    def wire(amount: str, currency: str = "THB") -> dict[str, str]:
        return {"amount_minor": amount, "currency": currency}

    statement = {"worker_id": WORKER, "scope": {"complete": True, "funds": ["JP-JPS", "TH-SSO"]},
                 "funds": [
        {"fund": "JP-JPS", "months": 36, "totals": [wire("1185840", "JPY")], "schemes": [
            {"scheme": "epi", "balance": wire("1185840", "JPY"), "months": 36,
             "first_month": "2023-09", "last_month": "2026-08",
             "paid_by_payer": [{"payer": "employee", "amount": wire("592920", "JPY")},
                               {"payer": "employer", "amount": wire("592920", "JPY")}]}]},
        {"fund": "TH-SSO", "months": 140, "totals": [wire("26897500")], "schemes": [
            {"scheme": "s33-old-age", "balance": wire("14700000"), "months": 140,
             "first_month": "2012-01", "last_month": "2023-08", "paid_by_payer": [
                 {"payer": "employee", "amount": wire("6300000")}]}]}],
        "totals": [wire("1185840", "JPY"), wire("26897500")]}
    (tmp_path / "s.jws").write_text(signer.sign_statement(WORKER, statement))
    (tmp_path / "jwks.json").write_text(json.dumps(signer.jwks()))
    code, out, _ = _verify(capsys, str(tmp_path / "s.jws"), "--jwks", str(tmp_path / "jwks.json"))
    assert code == 0, out
    assert "  TH-SSO: 140 months, 268,975.00 THB" in out
    assert "    s33-old-age: 140 months (2012-01 … 2023-08), balance 147,000.00 THB" in out
    assert "      paid by employee 63,000.00 THB" in out
    assert "  JP-JPS: 36 months, 1,185,840 JPY" in out
    assert "  total: 1,185,840 JPY, 268,975.00 THB" in out
    assert "minor units" not in out
