"""Paper received against paper digitised: a receipt (签收单) per handing-in of paper — case, material, page count,
who handed it in, when — and each page's layout hash, a perceptual fingerprint that tells a sheet scanned twice
(other bytes, same sheet) from two different sheets.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("layout_hash", sa.String(64), nullable=True))
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_no", sa.Text(), nullable=False, index=True),
        sa.Column("type_code", sa.String(32), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("handed_in_by", sa.Text(), nullable=True),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True, unique=True),
    )


def downgrade() -> None:
    op.drop_table("receipts")
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("layout_hash")
