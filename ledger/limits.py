"""Every bound the system enforces, in one place, so that they are documented and testable."""

from __future__ import annotations

BATCH_SIZE_MAX = 1000  # contributions per POST /v1/contributions:batch
MEMBERSHIPS_PER_WORKER_MAX = 32  # in one registration: a worker's funds, with room to spare
TRANSFERS_PER_REQUEST_MAX = 1000  # transfers in one linked batch
PAGE_SIZE_MAX = 500  # rows per page of any listing
PAGE_SIZE_DEFAULT = 100
# Ids, cursors and times in requests: the stores hold 64-bit signed integers, so a larger value
# is a 422 naming the field, never an overflow deep in a driver (a 500).
ID_MAX = 2**63 - 1
REQUEST_BODY_MAX_BYTES = 4 * 1024 * 1024  # JSON bodies; file uploads have their own bound
# A declaration file upload: a million-row Thai SSO 1-10 file is 137 MB.
DECLARATION_FILE_MAX_BYTES = 512 * 1024 * 1024
# An employer declares one employer's month: a 64 MB SSO 1-10 file is ~490,000 rows. The full
# bound is for funds and the operator, who may send a whole fund's month (issue 25 finding 7).
EMPLOYER_DECLARATION_MAX_BYTES = 64 * 1024 * 1024
DECLARATION_UPLOAD_PATH = "/v1/funds/{fund}/declarations"
IDEMPOTENCY_KEY_MAX_LENGTH = 256
# Published keys: a fund rotates yearly with overlap, so a handful are live at once; revoked and
# expired keys stay (old messages must still be explained), so the bound per issuer counts them
# too. The registry is parsed once per change (KeyService), so a bound of this order costs
# nothing per request; unbounded, one fund published 20,000.
KEYS_PER_PUBLISH_MAX = 8
KEYS_PER_ISSUER_MAX = 256
STATEMENT_MONTHS_MAX = 1200  # 100 years of months per fund in one statement
GROUP_COMMIT_RETRIES = 5  # a batch that loses a race (unique violation) is re-run this often
# Signed-message batches: up to this many tokens are verified inline on the event loop; a larger
# batch is split over at most VERIFY_THREADS_MAX worker threads (Ed25519 releases the GIL).
VERIFY_INLINE_MAX = 32
# The inbox: how far ahead of the next expected sequence number a message may wait (held), and
# the longest life (exp - iat) a fund's message may claim (a 100-year message was accepted).
HELD_AHEAD_MAX = 1000
REFUSAL_PREFIX_CHARS = 512  # of a refused message kept for audit, with its hash and length
# How long a refused message's record is kept: each new refusal deletes those older than this
# (issue 25 finding 5); a sender has long since had its answer.
REFUSAL_RETENTION_DAYS = 90
MESSAGE_LIFETIME_MAX_S = 30 * 24 * 3600
VERIFY_THREADS_MAX = 4
# A channel's day file is accepted once its business day has ended and this long has passed, so
# that a payment acknowledged in the day's last second is in the hub's view of it.
DAY_FILE_GRACE_S = 300
DAY_FILE_MAX_BYTES = 64 * 1024 * 1024  # ~400,000 lines of a channel's day
# Consent (issue 17): a worker's grant of read access lasts at most this long (a claim's
# paperwork takes weeks, not years; a longer need is a new grant the worker makes knowingly).
CONSENT_DAYS_MAX = 90
CONSENT_GRANTS_OPEN_MAX = 20  # grants in force at once per worker
STATEMENT_READS_SHOWN = 200  # the latest reads of a statement the worker's page lists
PAYMENT_BATCH_MAX = 200  # payments per POST /v1/channels/{channel}/payments/batch
PAYMENTS_SHOWN = 200  # the latest voluntary payments a statement page lists
# The statement page warns when a claim's deadline is this close (issue 17: "within 90 days").
DEADLINE_WARNING_DAYS = 90
# Retention of the records that answer retries (ADR 0054): idempotency keys and applied inbox
# messages are deleted once this old AND received before every unfinished settlement window
# opened. Never under the longest message life plus the clock skew allowed both ways, so a
# message whose record is gone has expired wherever it is replayed.
REPLAY_RECORDS_KEEP_DAYS = 35
REPLAY_RECORDS_KEEP_DAYS_MIN = 31  # > (MESSAGE_LIFETIME_MAX_S + 2 x 60 s of skew) in days
REPLAY_RECORDS_PRUNE_BATCH = 5000  # rows deleted per transaction
# Reads from a hot standby (ADR 0058): writes remembered per principal and worker for
# read-your-writes (beyond this many, the oldest fold into one floor every read must reach), how
# often a read waiting for the standby asks its replay position, how long connecting to it and
# asking that position may take, and how long reads stay on the primary after the standby
# failed to answer.
READ_MARKS_MAX = 100_000
READ_POLL_S = 0.005
STANDBY_CONNECT_TIMEOUT_S = 2.0
STANDBY_RETRY_S = 5.0
