"""Graded attempts' chain (docs/records.md): record_links, record_chain_heads, and links for the attempts graded already, in grading order.

Revision ID: 0002
Revises: 0001
"""

from datetime import UTC, datetime

from training_exams.chains import CHAINS
from training_records.migration import create_record_chains, drop_record_chains

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_record_chains(CHAINS, datetime.now(UTC))


def downgrade() -> None:
    drop_record_chains()
