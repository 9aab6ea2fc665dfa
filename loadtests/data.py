"""The data directory the preparation step wrote (`clmtv loadtest prepare`), read as plain files.

Owns `Data`: the manifest (tokens, member funds), the funds' private keys, the statement readers,
the uploads (one native file or batch each, with the token that sends it), the voluntary payers
(channel, scheme, declared income) and the months each scheme takes, the channels' past day
files, the workers whose exit the funds message, and the month's traffic shape. Nothing here
imports the ledger: these files are the whole contract between the ledger's side and Locust's.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Upload:
    kind: str  # declaration_upload | fund_batch
    fund: str
    month: str
    path: Path
    rows: int
    token: str


@dataclass(frozen=True, slots=True)
class Payer:
    worker_id: str
    channel: str
    wallet_currency: str
    fund: str
    scheme: str
    declared_income_minor: str  # empty: a flat-amount scheme
    home_currency: str


@dataclass(frozen=True, slots=True)
class DayFile:
    channel: str
    day: str
    path: Path
    lines: int


@dataclass(frozen=True, slots=True)
class Exit:
    flow_id: str
    worker_id: str
    host_fund: str
    scheme: str
    home_fund: str


class Data:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        if self.manifest.get("version") != FORMAT_VERSION:
            raise ValueError(f"{directory}/manifest.json: format version "
                             f"{self.manifest.get('version')!r}, expected {FORMAT_VERSION}")

    def _csv(self, name: str) -> list[dict[str, str]]:
        with (self.directory / name).open(newline="") as handle:
            return list(csv.DictReader(handle))

    @cached_property
    def manifest(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.directory / "manifest.json").read_text())
        return loaded

    @cached_property
    def fund_keys(self) -> dict[str, dict[str, Any]]:
        loaded: dict[str, dict[str, Any]] = json.loads(
            (self.directory / "fund-keys.json").read_text())
        return loaded

    @cached_property
    def shape(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.directory / "shape.json").read_text())
        return loaded

    @property
    def operator_token(self) -> str:
        return str(self.manifest["tokens"]["operator"])

    @property
    def auditor_token(self) -> str:
        return str(self.manifest["tokens"]["auditor"])

    def fund_token(self, fund: str) -> str:
        return str(self.manifest["tokens"]["funds"][fund])

    @cached_property
    def readers(self) -> list[tuple[str, str]]:
        return [(r["worker_id"], r["token"]) for r in self._csv("readers.csv")]

    @cached_property
    def uploads(self) -> list[Upload]:
        return [Upload(r["kind"], r["fund"], r["month"], self.directory / r["path"],
                       int(r["rows"]), r["token"]) for r in self._csv("uploads.csv")]

    def channel_token(self, channel: str) -> str:
        return str(self.manifest["tokens"]["channels"][channel])

    @cached_property
    def payers(self) -> list[Payer]:
        return [Payer(**r) for r in self._csv("payers.csv")]

    @cached_property
    def payable_months(self) -> dict[str, list[str]]:
        """`channel/fund/scheme` -> the months a payment may buy (as of the preparation)."""
        loaded: dict[str, list[str]] = json.loads(
            (self.directory / "schemes.json").read_text())["months"]
        return loaded

    @cached_property
    def day_files(self) -> list[list[DayFile]]:
        """The past days' files, oldest first, each day's files of every channel (a day by
        each channel's own calendar: `days_ago`)."""
        by_day: dict[int, list[DayFile]] = {}
        for r in self._csv("dayfiles.csv"):
            by_day.setdefault(int(r["days_ago"]), []).append(
                DayFile(r["channel"], r["day"], self.directory / r["path"], int(r["lines"])))
        return [by_day[d] for d in sorted(by_day, reverse=True)]

    @cached_property
    def exits(self) -> list[Exit]:
        return [Exit(r["flow_id"], r["worker_id"], r["host_fund"], r["scheme"], r["home_fund"])
                for r in self._csv("exits.csv")]
