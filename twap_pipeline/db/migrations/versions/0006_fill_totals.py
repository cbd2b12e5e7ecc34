"""Fill totals: ``twap_fills_days`` (one row per loaded fills day, written by the day's load) and
each TWAP's fills summed up in ``twap_orders``, which the reconciliation compares with the
terminal status.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE twap_fills_days (
            partition_date date PRIMARY KEY,
            fills          bigint NOT NULL,       -- rows of twap_fills with this partition_date
            loaded_at      timestamptz NOT NULL
        );
        INSERT INTO twap_fills_days (partition_date, fills, loaded_at)
        SELECT partition_date, count(*), now() FROM twap_fills GROUP BY partition_date;

        ALTER TABLE twap_orders
            ADD COLUMN fill_count      integer NOT NULL DEFAULT 0,
            ADD COLUMN filled_size     numeric,   -- sum of the fills' sz
            ADD COLUMN filled_notional numeric,   -- sum of the fills' px * sz
            ADD COLUMN fill_avg_price  numeric,   -- filled_notional / filled_size
            ADD COLUMN fees            jsonb,     -- total fee per fee token: {"USDC": "1.25"}
            ADD COLUMN builder_fees    numeric,
            ADD COLUMN closed_pnl      numeric,   -- realised PnL of the fills
            ADD COLUMN first_fill_at   timestamptz,
            ADD COLUMN last_fill_at    timestamptz;
        CREATE INDEX twap_fills_twap ON twap_fills (twap_id);
        """
    )
