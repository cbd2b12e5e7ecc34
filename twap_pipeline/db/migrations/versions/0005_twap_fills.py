"""``twap_fills``: one row per TWAP slice fill, loaded a UTC day (of its hour file) at a time.

A fill is one side of one trade (``tid``). When two TWAPs trade against each other both sides
are TWAP fills with the same ``tid``, told apart by ``twap_id``; one slice order (``oid``) may
fill at several prices, one ``tid`` each.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE twap_fills (
            twap_id        bigint NOT NULL,
            tid            bigint NOT NULL,       -- trade id: both sides of a trade share it
            wallet         text NOT NULL,
            fill_time      timestamptz NOT NULL,
            coin           text NOT NULL,
            px             numeric NOT NULL,
            sz             numeric NOT NULL,
            side           text NOT NULL,         -- B (buy) or A (sell)
            dir            text,                  -- Open Long, Close Short, Buy, Sell, ...
            start_position numeric,
            closed_pnl     numeric,
            fee            numeric,
            fee_token      text,
            builder_fee    numeric,
            oid            bigint NOT NULL,       -- the slice order
            cloid          text,
            crossed        boolean,
            block_number   bigint,
            block_time     timestamptz,
            hash           text,                  -- all zeros for TWAP slices
            s3_object_key  text NOT NULL,
            partition_date date NOT NULL,
            PRIMARY KEY (twap_id, tid)
        );
        CREATE INDEX twap_fills_partition ON twap_fills (partition_date);
        CREATE INDEX twap_fills_wallet_time ON twap_fills (wallet, fill_time, tid);
        """
    )
