"""SQLAlchemy Core tables: the schema as the application queries it.

The migration in `migrations/versions/` is the ground truth that creates it; a test checks the two
agree. Timestamps are integer microseconds since the Unix epoch (UTC): exact, sortable and the same
on SQLite and PostgreSQL. Money columns are BIGINT minor units beside a currency code.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BIGINT on PostgreSQL; on SQLite a rowid alias so that it autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("nationality", String(2), nullable=False),
    Column("identity_kind", String(32)),
    Column("identity_hmac", String(64), unique=True),
    Column("identity_ciphertext", LargeBinary),
    Column("created_at_us", BigInteger, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("worker_id", String(64), ForeignKey("workers.id"), primary_key=True),
    Column("fund", String(16), primary_key=True),
    Column("member_number_hmac", String(64), nullable=False),
    Column("member_number_ciphertext", LargeBinary, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    UniqueConstraint("fund", "member_number_hmac", name="uq_memberships_fund_number"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(256), nullable=False, unique=True),
    Column("code", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("flags", Integer, nullable=False),
    Column("fund", String(16)),
    Column("scheme", String(64)),
    Column("worker_id", String(64), index=True),
    Column("payer", String(16)),
    Column("debits_pending", BigInteger, nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    # Room on each page for one new version of every account: an import's balance updates
    # are HOT (no index touched). Migration 0006, ADR 0022; SQLite ignores it.
    postgresql_with={"fillfactor": 45},
)

transfers = Table(
    "transfers",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(128), nullable=False, unique=True),
    Column("debit_account_id", BigInteger, nullable=False, index=True),
    Column("credit_account_id", BigInteger, nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("flags", Integer, nullable=False),
    Column("pending_id", String(128)),
    Column("reversal_of", String(128)),
    Column("code", String(32), nullable=False),
    Column("contribution_id", String(128)),
    Column("created_at_us", BigInteger, nullable=False),
)
for _column in ("pending_id", "reversal_of"):
    Index(f"uq_transfers_{_column}", transfers.c[_column], unique=True,
          postgresql_where=transfers.c[_column].isnot(None),
          sqlite_where=transfers.c[_column].isnot(None))

# The unique keys of transfers, one row each: `i:` + id, `p:` + pending_id, `r:` + reversal_of
# (migration 0018, ADR 0062). On PostgreSQL transfers are partitioned by month and a unique index
# must hold the partition key, so this table is where an id is unique across months; a trigger
# on transfers fills it on both stores.
transfer_keys = Table(
    "transfer_keys",
    metadata,
    Column("key", String(130), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

contributions = Table(
    "contributions",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("worker_id", String(64), nullable=False, index=True),
    Column("fund", String(16), nullable=False),
    Column("scheme", String(64), nullable=False),
    Column("month", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("wage_base_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("shares", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    # Shares declared apart from the fund's rules, with reason and the rules' amount (0012).
    Column("overrides", Text),
)

insurance_periods = Table(
    "insurance_periods",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("fund", String(16), primary_key=True),
    Column("scheme", String(64), primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("contribution_id", String(128), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(128), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("scope", String(64)),
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger),
    Column("revoked_at_us", BigInteger),
    Column("employer", String(32)),  # an employer client's employer number (migration 0012)
)

# Which workers an employer employs (issue 25 finding 4): an employer client posts and declares
# only for these. Registered by the fund or the operator (migration 0012).
employments = Table(
    "employments",
    metadata,
    Column("fund", String(16), primary_key=True),
    Column("employer", String(32), primary_key=True),
    Column("worker_id", String(64), primary_key=True),
    Column("registered_by", String(128), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

# A registration whose identity number another worker holds: kept for a reviewed merge, so that
# the answer never tells a caller that someone it may not see exists (issue 25 finding 3).
identity_claims = Table(
    "identity_claims",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("identity_kind", String(32), nullable=False),
    Column("identity_hmac", String(64), nullable=False, index=True),
    Column("identity_ciphertext", LargeBinary, nullable=False),
    Column("claimed_by", String(128), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

trusted_keys = Table(
    "trusted_keys",
    metadata,
    Column("issuer", String(32), primary_key=True, index=True),
    Column("kid", String(128), primary_key=True),  # a kid belongs to its issuer (issue 25)
    Column("jwk", Text, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("fund", String(16), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("principal", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("rows_total", Integer, nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("report", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    UniqueConstraint("fund", "file_sha256", "status", name="uq_imports_file"),
)

declared_months = Table(
    "declared_months",
    metadata,
    # Month before worker: a file's rows are appended together (migration 0008).
    Column("fund", String(16), primary_key=True),
    Column("month", Integer, primary_key=True),
    Column("worker_id", String(64), primary_key=True),
    Column("import_id", String(64), nullable=False),
    Column("line", Integer, nullable=False),
)

# -- portability and settlement (migration 0004) -------------------------------------------------

portability_transfers = Table(
    "portability_transfers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("worker_id", String(64), nullable=False, index=True),
    Column("flow", String(16), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("host_fund", String(16), nullable=False),
    Column("scheme", String(64), nullable=False),
    Column("home_fund", String(16), nullable=False),
    Column("destination", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("agreement", String(64), nullable=False),
    Column("source_minor", BigInteger),
    Column("source_currency", String(3), nullable=False),
    Column("settlement_minor", BigInteger),
    Column("settlement_currency", String(3), nullable=False),
    Column("target_minor", BigInteger),
    Column("target_currency", String(3), nullable=False),
    Column("months", Text, nullable=False),
    Column("linked_id", String(128)),
    Column("window_id", String(128), index=True),
    Column("detail", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
    # Room for a state change in place (HOT). Migration 0007.
    postgresql_with={"fillfactor": 50},
)

fx_rates = Table(
    "fx_rates",
    metadata,
    Column("base", String(3), primary_key=True),
    Column("quote", String(3), primary_key=True),
    Column("rate", String(48), nullable=False),
    Column("source", Text, nullable=False),
    Column("set_at_us", BigInteger, nullable=False),
)

message_channels = Table(
    "message_channels",
    metadata,
    Column("issuer", String(32), primary_key=True),
    Column("audience", String(32), primary_key=True),
    Column("next_seq", BigInteger, nullable=False),
)

inbox_messages = Table(
    "inbox_messages",
    metadata,
    Column("audience", String(32), primary_key=True),
    Column("issuer", String(32), primary_key=True),
    Column("jti", String(128), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("typ", String(32), nullable=False),
    Column("payload_sha256", String(64), nullable=False),
    Column("token", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("result", Text),
    Column("received_at_us", BigInteger, nullable=False),
    Column("processed_at_us", BigInteger),
    UniqueConstraint("audience", "issuer", "seq", name="uq_inbox_messages_seq"),
    # Room for each row's result to be written in place (HOT). Migration 0007.
    postgresql_with={"fillfactor": 40},
)

# Held messages (waiting for a sequence gap to fill) are looked up at every intake; they are
# few among many processed ones. Migration 0007.
Index("ix_inbox_messages_held", inbox_messages.c.audience, inbox_messages.c.issuer,
      inbox_messages.c.seq, postgresql_where=inbox_messages.c.state == "held",
      sqlite_where=inbox_messages.c.state == "held")

inbox_rejections = Table(
    "inbox_rejections",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("audience", String(32), nullable=False),
    Column("token", Text, nullable=False),
    Column("token_sha256", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("received_at_us", BigInteger, nullable=False, index=True),  # retention (0012)
    Column("token_length", Integer, nullable=False, server_default="0"),
)

settlement_windows = Table(
    "settlement_windows",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("state", String(16), nullable=False),
    Column("netting", Text),
    Column("statement", Text),
    Column("reconciliation", Text),
    Column("abort_reason", Text),
    Column("opened_at_us", BigInteger, nullable=False),
    Column("updated_at_us", BigInteger, nullable=False),
)

window_confirmations = Table(
    "window_confirmations",
    metadata,
    Column("window_id", String(128), primary_key=True),
    Column("fund", String(16), primary_key=True),
    Column("token", Text, nullable=False),
    Column("position_minor", BigInteger, nullable=False),
    Column("received_at_us", BigInteger, nullable=False),
)

hub_acks = Table(
    "hub_acks",
    metadata,
    Column("recipient", String(32), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("token", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)

# -- payment channels (migration 0011, ADR 0037) ------------------------------------------------

channel_quotes = Table(
    "channel_quotes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("wallet_currency", String(3), nullable=False),
    Column("home_currency", String(3), nullable=False),
    Column("rate", String(64), nullable=False),  # home units per wallet unit, Decimal text
    Column("rate_source", Text, nullable=False),
    Column("rounding", String(16), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
)

channel_payments = Table(
    "channel_payments",
    metadata,
    Column("id", String(96), primary_key=True),  # {channel}/{channel_ref}
    Column("channel", String(32), nullable=False),
    Column("channel_ref", String(48), nullable=False),
    Column("worker_id", String(64), nullable=False),
    Column("fund", String(16), nullable=False),
    Column("scheme", String(64), nullable=False),
    Column("quote_id", String(32)),
    Column("wallet_currency", String(3), nullable=False),
    Column("paid_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("home_currency", String(3), nullable=False),
    Column("contribution_minor", BigInteger, nullable=False),
    Column("state_support_minor", BigInteger, nullable=False),
    Column("fx_difference_minor", BigInteger, nullable=False),
    Column("rate", String(64), nullable=False),
    Column("rate_source", Text, nullable=False),
    Column("rounding", String(16), nullable=False),
    Column("months", Text, nullable=False),  # JSON: the units paid (YYYY-MM)
    Column("months_covered", Text, nullable=False),  # JSON: every month of cover bought
    Column("insurance_periods", Integer, nullable=False),  # 1: the months are voluntary periods
    Column("paid_at_us", BigInteger, nullable=False),
    Column("day", String(10), nullable=False),  # the channel's business day, YYYY-MM-DD
    Column("receipt", Text, nullable=False),  # the JWS the worker received
)
Index("ix_channel_payments_day", channel_payments.c.channel, channel_payments.c.day)

channel_payment_events = Table(
    "channel_payment_events",
    metadata,
    Column("payment_id", String(96), primary_key=True),  # a payment is undone at most once
    Column("channel", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # reversal, refund
    Column("amount_minor", BigInteger, nullable=False),  # back to the worker, wallet currency
    Column("fee_minor", BigInteger, nullable=False),
    Column("contribution_minor", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("day", String(10), nullable=False),
)
Index("ix_channel_payment_events_day", channel_payment_events.c.channel,
      channel_payment_events.c.day)

channel_day_files = Table(
    "channel_day_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("day", String(10), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # reconciled, discrepancies
    Column("report", Text, nullable=False),
    Column("received_at_us", BigInteger, nullable=False),
)
Index("ix_channel_day_files_day", channel_day_files.c.channel, channel_day_files.c.day)

channel_obligations = Table(
    "channel_obligations",
    metadata,
    Column("id", String(128), primary_key=True),  # chs/{channel}/{day}/{fund}: also its transfer
    Column("channel", String(32), nullable=False),
    Column("day", String(10), nullable=False),
    Column("fund", String(16), nullable=False),
    Column("home_currency", String(3), nullable=False),
    Column("net_minor", BigInteger, nullable=False),  # > 0: the channel owes the fund
    Column("settlement_currency", String(3), nullable=False),
    Column("settlement_minor", BigInteger, nullable=False),  # signed like net_minor
    Column("rate", String(64), nullable=False),  # settlement units per home unit
    Column("window_id", String(128), index=True),
    Column("created_at_us", BigInteger, nullable=False),
)
Index("ix_channel_obligations_day", channel_obligations.c.channel, channel_obligations.c.day)

# -- the tamper-evident journal (migration 0013, ADR 0050) ----------------------------------------

journal_seals = Table(
    "journal_seals",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("last_seq", BigInteger, nullable=False),  # every transfer up to it is a leaf
    Column("edge", LargeBinary, nullable=False),  # the tree's right edge: 32 bytes per hash
    Column("leaves", LargeBinary, nullable=False),  # this seal's leaves (journal_repo.encode)
    Column("token", Text, nullable=False),  # the signed tree head (JWS)
    Column("sealed_at_us", BigInteger, nullable=False),
)


# -- period state changes in the journal (migration 0016, ADR 0059) -------------------------------

# Every state an insurance period takes, in order: written by triggers on insurance_periods.
insurance_period_events = Table(
    "insurance_period_events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("worker_id", String(64), nullable=False),
    Column("fund", String(16), nullable=False),
    Column("scheme", String(64), nullable=False),
    Column("month", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("contribution_id", String(128), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)
Index("ix_insurance_period_events_period", insurance_period_events.c.worker_id,
      insurance_period_events.c.fund, insurance_period_events.c.scheme,
      insurance_period_events.c.month)

# The period changes' Merkle log: as journal_seals, over insurance_period_events.
period_seals = Table(
    "period_seals",
    metadata,
    *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable,
             autoincrement=False if c.primary_key else "auto")
      for c in journal_seals.c),
)

# Consent (migration 0014): a worker's time-limited, revocable grants of read access to their
# statement, and each read of it by someone other than the worker.
consent_grants = Table(
    "consent_grants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("worker_id", String(64), nullable=False),
    Column("grantee", String(128), nullable=False),  # an API client's name
    Column("note", Text, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("expires_at_us", BigInteger, nullable=False),
    Column("revoked_at_us", BigInteger),
)
Index("ix_consent_grants_worker", consent_grants.c.worker_id)
Index("ix_consent_grants_grantee", consent_grants.c.grantee, consent_grants.c.worker_id)

statement_reads = Table(
    "statement_reads",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("worker_id", String(64), nullable=False),
    Column("reader", String(128), nullable=False),
    Column("reader_kind", String(16), nullable=False),
    Column("grant_id", String(32)),
    Column("what", String(16), nullable=False),  # "page", "json", "signed"
    Column("at_us", BigInteger, nullable=False),
)
Index("ix_statement_reads_worker", statement_reads.c.worker_id, statement_reads.c.at_us)
Index("ix_channel_payments_worker", channel_payments.c.worker_id)
# -- monitoring releases (migration 0015, ADR 0052) -----------------------------------------------

stats_releases = Table(
    "stats_releases",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("audience", String(32), nullable=False),  # public, fund:<code>, ministry:<country>
    Column("period", String(16), nullable=False),
    Column("epsilon", String(32), nullable=False),  # Decimal text; "0" for an exact table
    Column("position", BigInteger, nullable=False),  # the last transfer seq the build saw
    # A DP release publishes sha256(id:position:nonce), not the position: the number of
    # transfers ever booked is itself a count of the data. An auditor checks it against this.
    Column("position_nonce", String(32), nullable=False),
    Column("descriptor", Text, nullable=False),  # datapackage.json
    Column("token", Text, nullable=False),  # the hub's JWS over the files
    Column("build_ms", Integer, nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
)
Index("ix_stats_releases_audience", stats_releases.c.audience, stats_releases.c.period)

stats_release_files = Table(
    "stats_release_files",
    metadata,
    Column("release_id", String(96), primary_key=True),
    Column("path", String(64), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)

stats_budget = Table(
    "stats_budget",
    metadata,
    Column("audience", String(32), primary_key=True),
    Column("month", Integer, primary_key=True),  # YYYYMM of the data
    Column("release_id", String(96), primary_key=True),
    Column("epsilon", String(32), nullable=False),
)
