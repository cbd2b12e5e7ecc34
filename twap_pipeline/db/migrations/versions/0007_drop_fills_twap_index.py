"""Drop ``twap_fills_twap``: an index on ``twap_id`` alone, which the primary key
``(twap_id, tid)`` already serves (its leading column), paid on every fills COPY for nothing.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS twap_fills_twap")
