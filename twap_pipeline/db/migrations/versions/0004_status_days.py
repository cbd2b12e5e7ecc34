"""``twap_status_days``: one row per loaded day with its event count, written by the day's load
in its own transaction, so coverage costs O(days) instead of a scan of every event.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE twap_status_days (
            partition_date date PRIMARY KEY,
            events         bigint NOT NULL,       -- rows of twap_status with this partition_date
            loaded_at      timestamptz NOT NULL   -- when the day's load committed
        );
        INSERT INTO twap_status_days (partition_date, events, loaded_at)
        SELECT partition_date, count(*), now() FROM twap_status GROUP BY partition_date;
        """
    )
