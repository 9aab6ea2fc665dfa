"""`clmtv loadtest prepare`: register a simulated population in bulk and write what Locust reads.

Owns the preparation of a load test, which happens before the load and never through it:

1. simulate the population (`simulator`): ids, funds, wages and currencies come from its draw;
2. register every worker and membership, and one bearer token per employer, fund, operator and
   reading worker, through the services layer in batches (`WorkerService.register_many`,
   `ClientService.register_many`: one transaction per batch, not a request per worker);
3. publish a signing key per member fund and the reference FX rates, and book the Thai old-age
   history of the workers whose exit the funds will message during the run;
4. render the month's uploads in each fund's native format (`declarations.py`) and write the
   data directory: `manifest.json` (tokens, the funds' private keys: dev only), `workers.csv`,
   `readers.csv`, `uploads.csv` and the files, `exits.csv`, `shape.json` (`traffic.py`).

`loadtests/` reads that directory and nothing else of the ledger.
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ledger.adapters.context import WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.app.loadtest.declarations import Numbering, Upload, employer_account, uploads
from ledger.app.loadtest.payers import (
    Route,
    channel_payers,
    income_bounds,
    payable_months,
    payer_income,
    routes,
)
from ledger.app.loadtest.traffic import Assumptions, busiest_month, month_counts, month_shape
from ledger.channels.dayfile import DayEntry, EventKind, render_day_file
from ledger.composition import Services
from ledger.domain.contributions import ContributionInput
from ledger.domain.funds import FUNDS
from ledger.domain.money import Money
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.limits import BATCH_SIZE_MAX
from ledger.services.channels import PaymentRequest, Purchase, QuoteRequest
from ledger.services.posting import now_us
from ledger.services.workers import NewWorker
from ledger.settlement.keys import Party, SigningKey

OPERATOR = Principal("loadtest-prepare", PrincipalKind.HUB_OPERATOR)
REGISTER_BATCH = 5_000  # workers (or clients) per transaction
HISTORY_MONTHS = 12  # Thai old-age months booked for each worker who exits during the run
FORMAT_VERSION = 1
# Reference rates for the flows the funds message and the channels' payments during a run: the
# demo's (ledger/services/demo_settlement.py, demo_channels.py), assumptions like them.
REFERENCE_RATES = (("JPY", "USD", "0.0067"), ("THB", "USD", "0.028"), ("USD", "KHR", "4100"),
                   ("USD", "MMK", "2100"), ("USD", "VND", "25000"), ("MYR", "USD", "0.22"),
                   ("USD", "LAK", "21500"))

Say = Callable[[str], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PrepareOptions:
    scenario: str = "default"
    policy: str = "clmtv-pilot+digital-voluntary"
    workers: int = 10_000
    years: int = 12
    seed: int = 1
    month: str | None = None  # YYYY-MM of the simulated month; default: the busiest
    months: int = 1  # months of uploads rendered, from `month` on (at least)
    min_uploads: int = 0  # render further months until there are this many files ...
    min_batches: int = 0  # ... and this many Japanese batches (or the horizon ends)
    exits: int = 200  # workers whose exit the funds message during the run (at most)
    readers: int | None = None  # workers given a token to read their statement; None: all active
    prefix: str = "lt"  # worker ids wkr_<prefix>NNNNNNNN, client names <prefix>-...
    member_base: int = 0
    day_files: int = 5  # past days whose day file each channel sends during the run
    day_file_payments: int = 5  # payments a channel booked on each of those days
    assumptions: Assumptions = field(default_factory=Assumptions)


@dataclass(frozen=True, slots=True)
class Prepared:
    directory: Path
    workers: int
    readers: int
    uploads: int
    upload_rows: int
    exits: int
    payers: int
    payments_available: int  # (payer, month) pairs the run may pay, each once
    day_files: int
    month: str
    seconds: float


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def simulate(options: PrepareOptions) -> Any:
    """The simulator's outcome for the options' population (the first and only policy)."""
    from simulator.engine import simulate as run_policy
    from simulator.policy import load_run
    from simulator.population import draw

    run = load_run(options.scenario, options.policy)
    pop = draw(run.scenario, options.workers, options.years, options.seed)
    return run_policy(run, pop)


def month_index(outcome: Any, month: str | None) -> int:
    if month is None:
        return busiest_month(outcome)
    index = outcome.pop.start.months_until(Month.parse(month))
    if not 0 <= index < outcome.pop.horizon:
        raise ValueError(f"month {month} is outside the simulated horizon "
                         f"{outcome.pop.start}..{outcome.pop.start.plus(outcome.pop.horizon - 1)}")
    return int(index)


async def prepare(services: Services, options: PrepareOptions, out: Path,
                  say: Say = print, outcome: Any = None) -> Prepared:
    """Register the population in the ledger behind `services` and write `out`. `outcome` is
    the simulation of `options` when the caller has run it already."""
    started = time.perf_counter()
    os.makedirs(out, exist_ok=True)  # a batch tool: blocking file work is fine here
    if outcome is None:
        say(f"simulating {options.workers:,} workers, {options.policy}")
        outcome = simulate(options)
    index = month_index(outcome, options.month)
    numbering = Numbering(options.prefix, options.member_base)
    month = outcome.pop.start.plus(index)
    table = routes(services.channels.registry)
    payers = channel_payers(outcome, index, table)
    say(f"registering workers and memberships (month {month}; {len(payers):,} pay through a "
        "channel)")
    await _register_workers(services, outcome, numbering, say, payers)
    tokens = await _register_principals(services, options.prefix)
    # Keys for every fund that may take part in a window: members, and funds channels collect for.
    participants = sorted({*services.portability.agreement.member_funds,
                           *(r.fund for r in table.values())})
    keys = {f: SigningKey.generate(Party(f)) for f in participants}
    await _publish_keys(services, keys)
    for base, quote, rate in REFERENCE_RATES:
        await services.portability.set_rate(OPERATOR, base, quote, rate, "load test reference")
    readers = _active(outcome, index)
    if options.readers is not None:
        readers = readers[:options.readers]
    reader_tokens = await _register_many(services, [
        (f"{options.prefix}-reader-{i}", PrincipalKind.WORKER, numbering.worker(int(i)))
        for i in readers])
    say(f"{len(readers):,} statement readers; rendering {options.months} month(s) of uploads")
    written = await _write_uploads(services, outcome, index, options, numbering, out,
                                   tokens["funds"])
    exits = _exits(outcome, index, options.exits)
    say(f"booking the Thai old-age history of {len(exits):,} workers who exit during the run")
    await _book_history(services, outcome, exits, numbering)
    reserved, run_payers = _split_payers(payers, options)
    say(f"{len(run_payers):,} voluntary payers; booking {options.day_files} past day(s) of "
        "payments for the channels' day files")
    day_files = await _past_days(services, outcome, numbering, reserved, options, out)
    # Shuffled (seeded): the Locust processes pay in file order, and every channel should see
    # payments from the first second, not the Thai channel's first.
    random.Random(options.seed).shuffle(run_payers)  # noqa: S311 - an order, not a secret
    available = _write_payers(services, outcome, numbering, run_payers, out)
    _write_csv(out / "workers.csv", ("worker_id", "nationality", "fund", "currency",
                                     "wage_minor", "active"),
               _worker_rows(outcome, index, numbering))
    _write_csv(out / "readers.csv", ("worker_id", "token"),
               ((numbering.worker(int(i)), t) for i, t in zip(readers, reader_tokens,
                                                               strict=True)))
    _write_csv(out / "exits.csv", ("flow_id", "worker_id", "host_fund", "scheme", "home_fund"),
               ((f"pt-{options.prefix}-{i}", numbering.worker(i), "TH-SSO", "s33-old-age", home)
                for i, home in exits))
    shape = month_shape(month_counts(outcome, index, options.assumptions, len(payers)),
                        options.assumptions)
    (out / "shape.json").write_text(json.dumps(shape.to_json()))
    manifest = {
        "version": FORMAT_VERSION, "prefix": options.prefix, "month": str(month),
        "population": {k: v for k, v in asdict(options).items() if k != "assumptions"},
        "tokens": tokens,
        "member_funds": list(services.portability.agreement.member_funds),
        "settlement_currency": "USD",
    }
    _write_private(out / "manifest.json", json.dumps(manifest, indent=1))
    _write_private(out / "fund-keys.json", json.dumps(
        {fund: key.private_jwk() for fund, key in keys.items()}, indent=1))
    rows = sum(r for _, r in written)
    return Prepared(out, outcome.pop.size, len(readers), len(written), rows, len(exits),
                    len(run_payers), available, day_files, str(month),
                    time.perf_counter() - started)


def _write_private(path: Path, text: str) -> None:
    """Bearer tokens and private keys: readable by the owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _write_csv(path: Path, header: Sequence[str], rows: Any) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


async def _register_workers(services: Services, outcome: Any, numbering: Numbering,
                            say: Say, payers: dict[int, Route]) -> None:
    """Every worker with the destination membership; the Vietnamese abroad regime's and the
    voluntary payers' home memberships too."""
    pop, cov = outcome.pop, outcome.coverage
    fund_of = _fund_of_rows(pop)
    new = []
    for i in range(pop.size):
        fund = fund_of[i]
        memberships = [(fund, numbering.member(fund, i))]
        home = {"VN-VSS"} if cov.abroad[i] else set()
        if i in payers:
            home.add(payers[i].fund)
        memberships += [(f, numbering.member(f, i)) for f in sorted(home)]
        new.append(NewWorker(pop.origin_of(int(pop.corridor[i])), memberships,
                             id=numbering.worker(i)))
    done = 0
    for chunk in _chunks(new, REGISTER_BATCH):
        await services.workers.register_many(OPERATOR, chunk)
        done += len(chunk)
        say(f"  {done:,} / {len(new):,} workers")


def _fund_of_rows(pop: Any) -> list[str]:
    out = [""] * pop.size
    for fund, rows in pop.slices.items():
        for i in range(rows.start or 0, rows.stop):
            out[i] = fund
    return out


async def _register_many(
    services: Services, clients: Sequence[tuple[str, PrincipalKind, str | None]
                                          | tuple[str, PrincipalKind, str | None, str]],
) -> list[str]:
    tokens: list[str] = []
    for chunk in _chunks(clients, REGISTER_BATCH):
        tokens += await services.clients.register_many(chunk)
    return tokens


async def _register_principals(services: Services, prefix: str) -> dict[str, Any]:
    funds = sorted({*services.portability.agreement.member_funds, "MY-SOCSO"})
    wanted: list[tuple[str, PrincipalKind, str | None]] = [
        (f"{prefix}-operator", PrincipalKind.HUB_OPERATOR, None),
        (f"{prefix}-auditor", PrincipalKind.AUDITOR, None),
        *((f"{prefix}-fund-{f}", PrincipalKind.FUND, f) for f in funds)]
    channels = sorted(services.channels.registry.channels)
    wanted += [(f"{prefix}-channel-{c}", PrincipalKind.CHANNEL, c) for c in channels]
    tokens = await _register_many(services, wanted)
    return {"operator": tokens[0], "auditor": tokens[1],
            "funds": dict(zip(funds, tokens[2:2 + len(funds)], strict=True)),
            "channels": dict(zip(channels, tokens[2 + len(funds):], strict=True))}


async def _publish_keys(services: Services, keys: dict[str, SigningKey]) -> None:
    for fund, key in keys.items():
        await services.keys.publish(OPERATOR, fund, {"keys": [key.public_jwk()]})


def _active(outcome: Any, index: int) -> list[int]:
    cov = outcome.coverage
    paying = (cov.host_first <= index) & (index < cov.host_stop)
    voluntary = (cov.digital_first <= index) & (index < cov.digital_stop)
    return [int(i) for i in np.flatnonzero(paying | voluntary)]


def _worker_rows(outcome: Any, index: int, numbering: Numbering) -> Iterator[tuple[Any, ...]]:
    pop = outcome.pop
    active = set(_active(outcome, index))
    fund_of = _fund_of_rows(pop)
    for i in range(pop.size):
        fund = fund_of[i]
        yield (numbering.worker(i), pop.origin_of(int(pop.corridor[i])), fund,
               FUNDS[fund].currency.value if fund in FUNDS else get_adapter(fund).currency.value,
               int(pop.wage_minor[i]), int(i in active))


async def _write_uploads(services: Services, outcome: Any, index: int, options: PrepareOptions,
                         numbering: Numbering, out: Path, funds: dict[str, str]
                         ) -> list[tuple[str, int]]:
    """Render every upload, give each employer group its own token, write `uploads.csv`. The
    funds send their own lists (VSS's abroad regime) and batches (JPS) with their token."""
    directory = out / "files"
    directory.mkdir(exist_ok=True)
    a = options.assumptions
    rendered: list[Upload] = []
    files = batches = k = 0
    while index + k < outcome.pop.horizon and (
            k < options.months or files < options.min_uploads or batches < options.min_batches):
        for upload in uploads(outcome, index + k, numbering, a.employer_size, a.jp_batch_size):
            rendered.append(upload)
            files += upload.kind == "declaration_upload"
            batches += upload.kind == "fund_batch"
        k += 1
    employers = sorted({(u.fund, u.employer) for u in rendered if u.kind == "declaration_upload"
                        and u.fund != "VN-VSS"})
    tokens = dict(zip(employers, await _register_many(services, [
        (f"{options.prefix}-employer-{f}-{g}", PrincipalKind.EMPLOYER, f, employer_account(f, g))
        for f, g in employers]), strict=True))
    # An employer declares only its employees (issue 25 finding 4): each group's workers.
    await services.employments.register_many(OPERATOR, sorted({
        (u.fund, employer_account(u.fund, u.employer), numbering.worker(i))
        for u in rendered if (u.fund, u.employer) in tokens for i in u.members}))
    rows = []
    for u in rendered:
        (directory / u.name).write_bytes(u.data)
        token = tokens.get((u.fund, u.employer)) or funds[u.fund]
        rows.append((u.kind, u.fund, str(u.month), f"files/{u.name}", u.rows, token))
    _write_csv(out / "uploads.csv", ("kind", "fund", "month", "path", "rows", "token"), rows)
    return [(u.name, u.rows) for u in rendered]


def _exits(outcome: Any, index: int, limit: int) -> list[tuple[int, str]]:
    """Thai workers whose old-age balance the agreement moves (to the home fund or to the
    worker through it), most recent exits up to the month first: (row, home fund)."""
    from simulator.replay import exit_flows

    flows, _ = exit_flows(outcome)
    settle = outcome.coverage.settle
    candidates = [f for f in flows if f.destination in ("home_fund", "worker")
                  and f.moved_minor > 0 and settle[f.worker] <= index]
    candidates.sort(key=lambda f: (-int(settle[f.worker]), f.worker))
    pop = outcome.pop
    by_country = {fund.country: code for code, fund in FUNDS.items()}
    return [(f.worker, by_country[pop.origin_of(int(pop.corridor[f.worker]))])
            for f in candidates[:limit]]


async def _book_history(services: Services, outcome: Any, exits: list[tuple[int, str]],
                        numbering: Numbering) -> None:
    """The last months of s33 old-age each exiting worker paid, so that there is a balance
    to move; booked through the contribution service like any other contribution."""
    pop, cov = outcome.pop, outcome.coverage
    adapter = get_adapter("TH-SSO")
    inputs: list[ContributionInput] = []
    for i, _home in exits:
        stop = int(cov.host_stop[i])
        wage = Money(int(pop.wage_minor[i]), adapter.currency)
        for m in range(max(int(cov.host_first[i]), stop - HISTORY_MONTHS), stop):
            month = pop.start.plus(m)
            quote = adapter.contribution(WorkerContext(), "s33-old-age", month, wage)
            inputs.append(ContributionInput(numbering.worker(i), "TH-SSO", "s33-old-age",
                                            str(month), quote.wage_base,
                                            [(p.value, a) for p, a in quote.shares]))
    for chunk in _chunks(inputs, BATCH_SIZE_MAX):
        valid = await services.contributions.validate(OPERATOR, chunk)
        for result in await services.contributions.post(valid):
            if result.error is not None:
                raise result.error


def _split_payers(payers: dict[int, Route], options: PrepareOptions
                  ) -> tuple[list[tuple[int, Route]], list[tuple[int, Route]]]:
    """Payers kept for the past days' payments (so a run's payer never meets a month already
    paid), and the rest for the run."""
    ordered = sorted(payers.items())
    channels = len({r.channel for r in payers.values()}) or 1
    keep = min(len(ordered) // 4, options.day_files * options.day_file_payments * channels * 2)
    if keep == 0:
        return [], ordered
    stride = len(ordered) // keep  # every stride-th payer: each channel and scheme keeps some
    reserved = ordered[::stride][:keep]
    chosen = {i for i, _ in reserved}
    return reserved, [(i, r) for i, r in ordered if i not in chosen]


def _income(outcome: Any, route: Route, i: int, month: Month) -> int | None:
    return payer_income(outcome, outcome.pop.origin_of(int(outcome.pop.corridor[i])), route,
                        month)


def _write_payers(services: Services, outcome: Any, numbering: Numbering,
                  payers: list[tuple[int, Route]], out: Path) -> int:
    """`payers.csv` (who, through which channel, into which scheme, the declared income) and
    `schemes.json` (the months each scheme accepts in a payment made today); returns how many
    one-month payments the run may make."""
    now = now_us()
    agreement = services.channels.agreement
    rows = []
    for i, route in payers:
        month = Month.of(services.channels.registry.get(route.channel).day_of(now))
        income = _income(outcome, route, i, month)
        home = get_adapter(route.fund).currency.value
        rows.append((numbering.worker(i), route.channel, route.wallet_currency, route.fund,
                     route.scheme, "" if income is None else income, home))
    _write_csv(out / "payers.csv", ("worker_id", "channel", "wallet_currency", "fund", "scheme",
                                    "declared_income_minor", "home_currency"), rows)
    schemes = {}
    for route in {r for _, r in payers}:
        today = services.channels.registry.get(route.channel).day_of(now)  # its own day
        bounds = income_bounds(route.fund, route.scheme, Month.of(today))
        probe = (Money(bounds[0], get_adapter(route.fund).currency) if bounds else None)
        schemes[f"{route.channel}/{route.fund}/{route.scheme}"] = payable_months(
            route.fund, route.scheme, today, agreement, probe)
    (out / "schemes.json").write_text(json.dumps({"as_of_us": now, "months": schemes},
                                                 indent=1))
    return sum(len(schemes[f"{r.channel}/{r.fund}/{r.scheme}"]) for _, r in payers)


async def _past_days(services: Services, outcome: Any, numbering: Numbering,
                     reserved: list[tuple[int, Route]], options: PrepareOptions,
                     out: Path) -> int:
    """Payments booked on past business days of each channel (the services' clock moved back),
    and the day file each channel will send for them during the run: `dayfiles.csv`."""
    directory = out / "dayfiles"
    directory.mkdir(exist_ok=True)
    registry = services.channels.registry
    agreement = services.channels.agreement
    by_channel: dict[str, list[tuple[int, Route]]] = {}
    for i, route in reserved:
        by_channel.setdefault(route.channel, []).append((i, route))
    index_rows = []
    clock = services.channels.clock
    try:
        for code, queue in sorted(by_channel.items()):
            channel = registry.get(code)
            principal = Principal(f"{options.prefix}-{code}", PrincipalKind.CHANNEL, code)
            today = channel.day_of(now_us())
            for d in range(options.day_files):
                day = today - timedelta(days=d + 2)  # well past the day-file grace period
                noon = channel.day_bounds_us(day)[0] + 12 * 3600 * 1_000_000
                services.channels.clock = lambda noon=noon: noon  # type: ignore[misc]
                entries: list[DayEntry] = []
                while queue and len(entries) < options.day_file_payments:
                    i, route = queue.pop()
                    entry = await _pay_on(services, principal, route, numbering, outcome, i,
                                          day, agreement, f"{options.prefix}-d{d}-{i}")
                    if entry is not None:
                        entries.append(entry)
                if not entries:
                    continue
                name = f"{code}-{day.isoformat()}.csv"
                (directory / name).write_text(render_day_file(entries))
                index_rows.append((d, code, day.isoformat(), f"dayfiles/{name}", len(entries)))
    finally:
        services.channels.clock = clock
    # `days_ago` - 2 numbers the day: each channel's own calendar (UTC offsets differ).
    _write_csv(out / "dayfiles.csv", ("days_ago", "channel", "day", "path", "lines"),
               ((d + 2, *rest) for d, *rest in index_rows))
    return len(index_rows)


async def _pay_on(services: Services, principal: Principal, route: Route, numbering: Numbering,
                  outcome: Any, i: int, day: date, agreement: Any, ref: str) -> DayEntry | None:
    """One payment of the day's month, through the same service calls as the API's; the
    channel's record of it (None when the scheme does not take that month, e.g. not yet open)."""
    month = Month.of(day)
    income = _income(outcome, route, i, month)
    home = get_adapter(route.fund).currency
    declared = Money(income, home) if income is not None else None
    if str(month) not in payable_months(route.fund, route.scheme, day, agreement, declared):
        return None
    worker = numbering.worker(i)
    purchase = Purchase(route.fund, route.scheme, [str(month)], declared)
    quote = await services.channels.quote(principal, route.channel, QuoteRequest(
        route.wallet_currency, route.fund, worker, purchase))
    price = quote["price"]
    contribution = Money.from_wire(price["contribution"], "contribution")
    paid = Money.from_wire(price["total"], "paid")
    prepared = await services.channels.prepare(principal, route.channel, PaymentRequest(
        ref, worker, purchase, paid, contribution, quote["quote_id"]))
    for result in await services.channels.post(prepared, None, None):
        if result.error is not None:
            raise result.error
    row = prepared.row
    return DayEntry(ref, EventKind.PAYMENT, worker, route.fund, route.scheme,
                    Money(row["paid_minor"], paid.currency),
                    Money(row["fee_minor"], paid.currency),
                    Money(row["contribution_minor"], contribution.currency))
