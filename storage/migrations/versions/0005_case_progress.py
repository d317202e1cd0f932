"""Cases as the court's case-management system knows them: court, tribunal, parties, when the case was opened and
the stage it has reached; every stage event as it was reported (one row per case and stage: the earliest time
reported for it), so an event that arrives twice or out of order changes nothing it should not.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("court", sa.Text(), nullable=True))
        batch.add_column(sa.Column("tribunal", sa.Text(), nullable=True))
        batch.add_column(sa.Column("parties", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("opened_at", sa.Float(), nullable=True))
    op.create_table(
        "case_events",
        sa.Column("case_no", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.Column("client", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("case_no", "stage"),
    )


def downgrade() -> None:
    op.drop_table("case_events")
    with op.batch_alter_table("cases") as batch:
        for column in ("opened_at", "parties", "tribunal", "court"):
            batch.drop_column(column)
