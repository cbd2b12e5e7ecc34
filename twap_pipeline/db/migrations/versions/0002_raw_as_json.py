"""Store ``raw`` as json instead of jsonb: the source text verbatim, faster to COPY and served
without re-serialisation. Tables created after this change already have json: no-op for them.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (
                SELECT 1 FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = 'twap_status'
                  AND column_name = 'raw' AND data_type = 'jsonb'
            ) THEN
                ALTER TABLE twap_status ALTER COLUMN raw TYPE json USING raw::text::json;
            END IF;
        END $$;
        """
    )
