"""Ledger core: workers, memberships, accounts, transfers, contributions, periods, idempotency.

The database enforces what it can: unique ids, positive amounts, distinct accounts, balance flags
(CHECK constraints), immutable transfers and contributions (triggers refuse UPDATE and DELETE),
and insurance periods whose only allowed change is active -> withdrawn | transferred.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamp() -> sa.Column[int]:
    return sa.Column("created_at_us", sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("nationality", sa.String(2), nullable=False),
        sa.Column("identity_kind", sa.String(32)),
        sa.Column("identity_hmac", sa.String(64), unique=True),
        sa.Column("identity_ciphertext", sa.LargeBinary()),
        _stamp(),
    )
    op.create_table(
        "memberships",
        sa.Column("worker_id", sa.String(64), sa.ForeignKey("workers.id"), primary_key=True),
        sa.Column("fund", sa.String(16), primary_key=True),
        sa.Column("member_number_hmac", sa.String(64), nullable=False),
        sa.Column("member_number_ciphertext", sa.LargeBinary(), nullable=False),
        _stamp(),
        sa.UniqueConstraint("fund", "member_number_hmac", name="uq_memberships_fund_number"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(256), nullable=False, unique=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("fund", sa.String(16)),
        sa.Column("scheme", sa.String(64)),
        sa.Column("worker_id", sa.String(64), index=True),
        sa.Column("payer", sa.String(16)),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        _stamp(),
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0"
            " AND credits_posted >= 0",
            name="ck_accounts_balances_nonnegative",
        ),
        sa.CheckConstraint(
            "(flags & 1) = 0 OR debits_pending + debits_posted <= credits_posted",
            name="ck_accounts_debits_must_not_exceed_credits",
        ),
        sa.CheckConstraint(
            "(flags & 2) = 0 OR credits_pending + credits_posted <= debits_posted",
            name="ck_accounts_credits_must_not_exceed_debits",
        ),
        # Balance updates change no indexed column; free space in each page lets PostgreSQL
        # update in place (HOT) instead of inserting into every index of the table.
        postgresql_with={"fillfactor": 70},
    )
    op.create_table(
        "transfers",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(128), nullable=False, unique=True),
        sa.Column("debit_account_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("credit_account_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("pending_id", sa.String(128)),
        sa.Column("reversal_of", sa.String(128)),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("contribution_id", sa.String(128)),
        _stamp(),
        sa.CheckConstraint("amount_minor > 0", name="ck_transfers_amount_positive"),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name="ck_transfers_distinct_accounts"
        ),
    )
    # Partial: almost every transfer has neither, and each index costs every insert.
    for column in ("pending_id", "reversal_of"):
        op.create_index(
            f"uq_transfers_{column}", "transfers", [column], unique=True,
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
    op.create_table(
        "contributions",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("worker_id", sa.String(64), nullable=False, index=True),
        sa.Column("fund", sa.String(16), nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("wage_base_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("shares", sa.Text(), nullable=False),
        _stamp(),
    )
    op.create_table(
        "insurance_periods",
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("fund", sa.String(16), primary_key=True),
        sa.Column("scheme", sa.String(64), primary_key=True),
        sa.Column("month", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("contribution_id", sa.String(128), nullable=False),
        _stamp(),
        sa.CheckConstraint(
            "state IN ('active', 'withdrawn', 'transferred')", name="ck_periods_state"
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        _stamp(),
    )
    op.create_table(
        "api_clients",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(64)),
        _stamp(),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()


def _postgres_guards() -> None:
    op.execute(
        """
        CREATE FUNCTION clmtv_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'clmtv: % on % refused: rows are immutable', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
        END $$;
        """
    )
    for table in ("transfers", "contributions"):
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION clmtv_refuse_change()"
        )
    for table in ("transfers", "contributions", "insurance_periods", "accounts"):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION clmtv_refuse_change()"
        )
    op.execute(
        "CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts "
        "FOR EACH ROW EXECUTE FUNCTION clmtv_refuse_change()"
    )
    op.execute(
        """
        CREATE TRIGGER accounts_identity_fixed BEFORE UPDATE ON accounts FOR EACH ROW
        WHEN ((OLD.key, OLD.code, OLD.currency, OLD.flags, OLD.fund, OLD.scheme, OLD.worker_id,
               OLD.payer)
              IS DISTINCT FROM
              (NEW.key, NEW.code, NEW.currency, NEW.flags, NEW.fund, NEW.scheme, NEW.worker_id,
               NEW.payer))
        EXECUTE FUNCTION clmtv_refuse_change()
        """
    )
    op.execute(
        "CREATE TRIGGER insurance_periods_no_delete BEFORE DELETE ON insurance_periods "
        "FOR EACH ROW EXECUTE FUNCTION clmtv_refuse_change()"
    )
    op.execute(
        """
        CREATE TRIGGER insurance_periods_one_way BEFORE UPDATE ON insurance_periods FOR EACH ROW
        WHEN (OLD.state <> 'active'
              OR (OLD.worker_id, OLD.fund, OLD.scheme, OLD.month, OLD.kind, OLD.contribution_id)
                 IS DISTINCT FROM
                 (NEW.worker_id, NEW.fund, NEW.scheme, NEW.month, NEW.kind, NEW.contribution_id))
        EXECUTE FUNCTION clmtv_refuse_change()
        """
    )


def _sqlite_guards() -> None:
    def refuse(name: str, event: str, table: str, when: str = "") -> None:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW {when} BEGIN "
            f"SELECT RAISE(ABORT, 'clmtv: {event} on {table} refused: rows are immutable'); END"
        )

    for table in ("transfers", "contributions"):
        refuse(f"{table}_no_update", "UPDATE", table)
        refuse(f"{table}_no_delete", "DELETE", table)
    refuse("accounts_no_delete", "DELETE", "accounts")
    refuse(
        "accounts_identity_fixed", "UPDATE", "accounts",
        "WHEN OLD.key IS NOT NEW.key OR OLD.code IS NOT NEW.code"
        " OR OLD.currency IS NOT NEW.currency OR OLD.flags IS NOT NEW.flags"
        " OR OLD.fund IS NOT NEW.fund OR OLD.scheme IS NOT NEW.scheme"
        " OR OLD.worker_id IS NOT NEW.worker_id OR OLD.payer IS NOT NEW.payer",
    )
    refuse("insurance_periods_no_delete", "DELETE", "insurance_periods")
    refuse(
        "insurance_periods_one_way", "UPDATE", "insurance_periods",
        "WHEN OLD.state <> 'active' OR OLD.worker_id IS NOT NEW.worker_id"
        " OR OLD.fund IS NOT NEW.fund OR OLD.scheme IS NOT NEW.scheme"
        " OR OLD.month IS NOT NEW.month OR OLD.kind IS NOT NEW.kind"
        " OR OLD.contribution_id IS NOT NEW.contribution_id",
    )


def downgrade() -> None:
    raise NotImplementedError("the ledger is append-only; restore from backup instead")
