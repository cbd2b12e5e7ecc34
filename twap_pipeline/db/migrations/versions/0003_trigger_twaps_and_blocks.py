"""Trigger TWAPs (2026): ``trigger_px``, ``trigger_above``, ``stop_px``; the node's
``block_number``; the flags a source may omit (``minutes``, ``reduceOnly``, ``randomize``)
become nullable. ``twap_lifecycle_rank`` orders the statuses of one TWAP that share a time.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE twap_status
            ADD COLUMN trigger_px numeric,      -- state.trigger.px, NULL for plain TWAPs
            ADD COLUMN trigger_above boolean,   -- state.trigger.above
            ADD COLUMN stop_px numeric,         -- state.stopPx
            ADD COLUMN block_number bigint,     -- the node's block, NULL for parquet archives
            ALTER COLUMN duration_minutes DROP NOT NULL,
            ALTER COLUMN reduce_only DROP NOT NULL,
            ALTER COLUMN randomize DROP NOT NULL;

        ALTER TABLE twap_orders
            ADD COLUMN trigger_px numeric,
            ADD COLUMN trigger_above boolean,
            ADD COLUMN stop_px numeric,
            ALTER COLUMN duration_minutes DROP NOT NULL,
            ALTER COLUMN reduce_only DROP NOT NULL,
            ALTER COLUMN randomize DROP NOT NULL;

        -- Where a status stands in a TWAP's life: waitingForTrigger, then activated, then
        -- anything not yet known, then the terminal statuses. Orders the events of one TWAP
        -- that share a block time. Inlined by the planner (a plain immutable SQL function).
        CREATE FUNCTION twap_lifecycle_rank(status text) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN CASE status
            WHEN 'waitingForTrigger' THEN 0
            WHEN 'activated' THEN 1
            WHEN 'finished' THEN 3
            WHEN 'terminated' THEN 3
            WHEN 'error' THEN 3
            ELSE 2
        END;
        """
    )
