"""Each page records the blob its job reads (the page split from its file at inspection), so no page job fetches the
whole file; pages catalogued before keep reading their entry's file at their index.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("blob_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("blob_media_type", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("blob_index", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("blob_index")
        batch.drop_column("blob_media_type")
        batch.drop_column("blob_key")
