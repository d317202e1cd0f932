"""Corrections made by people to what was filed automatically — a document's type, a split, a merge, a page order,
a page moved, marked for rescan, replaced by its rescan or removed — kept with who made them and when, and applied
again whenever a stack is classified again, so a later classification never undoes them.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_no", sa.Text(), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("stacks", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("corrections")
