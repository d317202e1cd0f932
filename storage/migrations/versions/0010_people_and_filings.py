"""People who sign in to the console (operators, filing judges, administrators) and their sessions; filings made at
a kiosk — the person's identity, what they file, the pages captured (each stored and hashed as it is captured), the
form they confirmed, their signature — waiting for a filing judge to accept, return or refuse them.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("disabled_at", sa.Float()),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float()),
    )
    op.create_table(
        "filings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("kiosk", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("identity", sa.JSON()),
        sa.Column("kind", sa.String(16)),
        sa.Column("court", sa.Text()),
        sa.Column("cause", sa.Text()),
        sa.Column("notice_accepted_at", sa.Float()),
        sa.Column("form", sa.JSON()),
        sa.Column("signature_sha256", sa.String(64)),
        sa.Column("upload_hash", sa.String(64)),
        sa.Column("upload_expires_at", sa.Float()),
        sa.Column("case_no", sa.Text()),
        sa.Column("stack_id", sa.Integer()),
        sa.Column("returned", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("decided_by", sa.Text()),
        sa.Column("decided_at", sa.Float()),
        sa.Column("reason", sa.Text()),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("submitted_at", sa.Float()),
    )
    op.create_table(
        "filing_pages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("filing_id", sa.Integer(), nullable=False, index=True),
        sa.Column("material", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("provenance", sa.JSON()),
        sa.Column("captured_at", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.Float()),
        sa.Column("text", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("filing_pages")
    op.drop_table("filings")
    op.drop_table("web_sessions")
    op.drop_table("users")
