"""The schema as first deployed: twap_status (one row per event, raw as jsonb) and twap_orders.

Written with IF NOT EXISTS so that databases created before migrations existed (by the loader's
old idempotent DDL) pass through it unchanged and carry on with the next revision.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- One row per lifecycle event of one TWAP order, exactly as the source published it.
        CREATE TABLE IF NOT EXISTS twap_status (
            twap_id            bigint      NOT NULL,
            event_time         timestamptz NOT NULL,  -- source `time`, truncated to microseconds
            status             text        NOT NULL,  -- activated | finished | terminated | error
            error              text,                  -- message of an error status
            wallet             text        NOT NULL,  -- lower-case 0x address (state_user)
            asset              text        NOT NULL,  -- state_coin: BTC, @107, xyz:NVDA
            side               text        NOT NULL,  -- B buy, A sell
            size_requested     numeric     NOT NULL,  -- state_sz
            size_executed      numeric     NOT NULL,  -- state_executedSz, cumulative
            notional_executed  numeric     NOT NULL,  -- state_executedNtl, cumulative USD
            duration_minutes   integer     NOT NULL,
            reduce_only        boolean     NOT NULL,
            randomize          boolean     NOT NULL,
            created_at         timestamptz NOT NULL,  -- state_timestamp: when the TWAP was created
            s3_object_key      text        NOT NULL,
            partition_date     date        NOT NULL,  -- UTC day of the object key
            raw                jsonb       NOT NULL,  -- the source row as read
            loaded_at          timestamptz NOT NULL DEFAULT now(),
            -- Events share twap_id and created_at: event time and status tell them apart.
            PRIMARY KEY (twap_id, event_time, status)
        );
        CREATE INDEX IF NOT EXISTS twap_status_wallet_time_idx
            ON twap_status (wallet, event_time DESC, twap_id DESC);
        CREATE INDEX IF NOT EXISTS twap_status_partition_idx ON twap_status (partition_date);

        -- One row per TWAP, derived from twap_status by the twap_orders asset.
        CREATE TABLE IF NOT EXISTS twap_orders (
            twap_id            bigint      PRIMARY KEY,
            wallet             text        NOT NULL,
            asset              text        NOT NULL,
            side               text        NOT NULL,
            size_requested     numeric     NOT NULL,
            duration_minutes   integer     NOT NULL,
            reduce_only        boolean     NOT NULL,
            randomize          boolean     NOT NULL,
            created_at         timestamptz NOT NULL,
            activated_at       timestamptz,           -- NULL when the activation is not loaded
            ended_at           timestamptz,           -- terminal event time, NULL while running
            status             text        NOT NULL,  -- final status, `activated` while running
            error              text,
            size_executed      numeric     NOT NULL,
            notional_executed  numeric     NOT NULL,
            avg_price          numeric,               -- notional / size, NULL when nothing executed
            fill_ratio         numeric,               -- executed / requested
            latest_event_time  timestamptz NOT NULL,
            event_count        integer     NOT NULL,
            -- Partitions holding this TWAP's events: a reload of any day in between recomputes it.
            first_partition    date        NOT NULL,
            last_partition     date        NOT NULL
        );
        CREATE INDEX IF NOT EXISTS twap_orders_wallet_created_idx
            ON twap_orders (wallet, created_at DESC, twap_id DESC);
        CREATE INDEX IF NOT EXISTS twap_orders_partitions_idx
            ON twap_orders (last_partition, first_partition);
        """
    )
