"""What each case carries as proof of its digitisation, kept current as its pages, receipts and stage change, so the
court's figures are read in bulk: per case the pages received and scanned, digitised and usable; per receipt when it
is due and when it was digitised; per document whether a person corrected what was filed automatically; and the
archive packages made.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("pages_received", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pages_scanned", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("digitised", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("usable", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("settled_at", sa.Float(), nullable=True))
    with op.batch_alter_table("receipts") as batch:
        batch.add_column(sa.Column("due_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("digitised_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("pages_scanned", sa.Integer(), nullable=True))
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("corrected", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "archives",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_no", sa.Text(), nullable=False, index=True),
        sa.Column("archived_at", sa.Float(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("digitised", sa.Boolean(), nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("archives")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("corrected")
    with op.batch_alter_table("receipts") as batch:
        for name in ("pages_scanned", "digitised_at", "due_at"):
            batch.drop_column(name)
    with op.batch_alter_table("cases") as batch:
        for name in ("settled_at", "usable", "digitised", "pages_scanned", "pages_received"):
            batch.drop_column(name)
