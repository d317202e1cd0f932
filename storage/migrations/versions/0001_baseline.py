"""Baseline: stacks, entries, pages, documents, cases, volumes, quarantine, incidents, tokens, leases, jobs, runners.

Revision ID: 0001
Revises: 
Create Date: 2026-12-02 13:13:56.682991
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('case_no', sa.Text(), nullable=False),
    sa.Column('family', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('assembled_version', sa.Integer(), nullable=False),
    sa.Column('assembled_at', sa.Float(), nullable=True),
    sa.Column('assembly_seconds', sa.Float(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('manifest_key', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('case_no')
    )
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('stack_id', sa.Integer(), nullable=True),
    sa.Column('case_no', sa.Text(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('page_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_stack_id'), ['stack_id'], unique=False)

    op.create_table('jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('queue', sa.String(length=16), nullable=False),
    sa.Column('args', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sa.Float(), nullable=False),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('started_at', sa.Float(), nullable=True),
    sa.Column('lease_until', sa.Float(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('enqueued_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_claim', ['state', 'not_before'], unique=False)
        batch_op.create_index('ix_jobs_key', ['key', 'state'], unique=False)

    op.create_table('leases',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('owner', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('page_index', sa.Integer(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('source_path', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=False),
    sa.Column('stack_id', sa.Integer(), nullable=True),
    sa.Column('stack_seq', sa.Integer(), nullable=True),
    sa.Column('case_no', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_quarantine_status', ['status'], unique=False)

    op.create_table('runners',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('host', sa.Text(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('heartbeat_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('stacks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('case_no', sa.Text(), nullable=True),
    sa.Column('case_error', sa.Text(), nullable=True),
    sa.Column('device', sa.Text(), nullable=True),
    sa.Column('volume_hint', sa.String(length=2), nullable=True),
    sa.Column('client', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('closed_at', sa.Float(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('classified_version', sa.Integer(), nullable=False),
    sa.Column('classified_at', sa.Float(), nullable=True),
    sa.Column('classify_seconds', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('revoked_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tokens_name'), ['name'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_no', sa.Text(), nullable=True),
    sa.Column('volume', sa.String(length=2), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('review', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('stack_id', sa.Integer(), nullable=False),
    sa.Column('received_order', sa.Float(), nullable=False),
    sa.Column('separator_page_id', sa.Integer(), nullable=True),
    sa.Column('parties', sa.JSON(), nullable=True),
    sa.Column('identifiers', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['stack_id'], ['stacks.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_case_no'), ['case_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_stack_id'), ['stack_id'], unique=False)

    op.create_table('entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('stack_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('source_path', sa.Text(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('work_sha256', sa.String(length=64), nullable=True),
    sa.Column('case_no', sa.Text(), nullable=True),
    sa.Column('client', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['stack_id'], ['stacks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stack_id', 'seq', name='uq_entries_stack_seq')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_entries_stack', ['stack_id', 'seq'], unique=False)

    op.create_table('volumes',
    sa.Column('case_no', sa.Text(), nullable=False),
    sa.Column('volume', sa.String(length=2), nullable=False),
    sa.Column('blob_key', sa.String(length=64), nullable=False),
    sa.Column('pdf_pages', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['case_no'], ['cases.case_no'], ),
    sa.PrimaryKeyConstraint('case_no', 'volume')
    )
    op.create_table('pages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('page_index', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('case_no', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('mean_conf', sa.Float(), nullable=True),
    sa.Column('rotation', sa.Integer(), nullable=True),
    sa.Column('skew', sa.Float(), nullable=True),
    sa.Column('blank', sa.Boolean(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('codes', sa.JSON(), nullable=True),
    sa.Column('steps', sa.JSON(), nullable=True),
    sa.Column('engine', sa.JSON(), nullable=True),
    sa.Column('layout_key', sa.String(length=64), nullable=True),
    sa.Column('pdf_key', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=True),
    sa.Column('done_at', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['entries.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_id', 'page_index', name='uq_pages_entry_index')
    )
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pages_case_no'), ['case_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_pages_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pages_status'), ['status'], unique=False)

    op.create_table('document_pages',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], ),
    sa.PrimaryKeyConstraint('document_id', 'page_id')
    )


def downgrade() -> None:
    op.drop_table('document_pages')
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pages_status'))
        batch_op.drop_index(batch_op.f('ix_pages_entry_id'))
        batch_op.drop_index(batch_op.f('ix_pages_case_no'))

    op.drop_table('pages')
    op.drop_table('volumes')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index('ix_entries_stack')
        batch_op.drop_index(batch_op.f('ix_entries_sha256'))

    op.drop_table('entries')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_stack_id'))
        batch_op.drop_index(batch_op.f('ix_documents_case_no'))

    op.drop_table('documents')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tokens_name'))

    op.drop_table('tokens')
    op.drop_table('stacks')
    op.drop_table('runners')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantine_status')
        batch_op.drop_index(batch_op.f('ix_quarantine_entry_id'))

    op.drop_table('quarantine')
    op.drop_table('leases')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_key')
        batch_op.drop_index('ix_jobs_claim')

    op.drop_table('jobs')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_stack_id'))

    op.drop_table('incidents')
    op.drop_table('cases')
