"""A per-case audit log, hash-chained: each entry holds the hash of the one before and its own over its content, and
the case holds the head of its chain (sequence number and hash), so an entry altered, removed or cut off the end is
found by recomputing the chain.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("case_no", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("case_no", "seq"),
        sa.UniqueConstraint("case_no", "key", name="uq_audit_case_key"),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("audit_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("audit_head", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("audit_head")
        batch.drop_column("audit_seq")
    op.drop_table("audit")
