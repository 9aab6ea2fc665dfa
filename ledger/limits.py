"""Every bound the system enforces, in one place, so that they are documented and testable."""

from __future__ import annotations

BATCH_SIZE_MAX = 1000  # contributions per POST /v1/contributions:batch
TRANSFERS_PER_REQUEST_MAX = 1000  # transfers in one linked batch
PAGE_SIZE_MAX = 500  # rows per page of any listing
PAGE_SIZE_DEFAULT = 100
REQUEST_BODY_MAX_BYTES = 4 * 1024 * 1024  # JSON bodies; file uploads have their own bound
# A declaration file upload: a million-row Thai SSO 1-10 file is 137 MB.
DECLARATION_FILE_MAX_BYTES = 512 * 1024 * 1024
DECLARATION_UPLOAD_PATH = "/v1/funds/{fund}/declarations"
IDEMPOTENCY_KEY_MAX_LENGTH = 256
STATEMENT_MONTHS_MAX = 1200  # 100 years of months per fund in one statement
GROUP_COMMIT_RETRIES = 5  # a batch that loses a race (unique violation) is re-run this often
# Signed-message batches: up to this many tokens are verified inline on the event loop; a larger
# batch is split over at most VERIFY_THREADS_MAX worker threads (Ed25519 releases the GIL).
VERIFY_INLINE_MAX = 32
VERIFY_THREADS_MAX = 4
# Sub-accounts of each hot account (a fund's collections, a channel's wallet): more than the API
# processes that post at once, so each committer has its own (ADR 0036).
HOT_ACCOUNT_SHARDS = 16
# A channel's day file is accepted once its business day has ended and this long has passed, so
# that a payment acknowledged in the day's last second is in the hub's view of it.
DAY_FILE_GRACE_S = 300
DAY_FILE_MAX_BYTES = 64 * 1024 * 1024  # ~400,000 lines of a channel's day
