"""Face-check records' chain (docs/records.md): record_links, record_chain_heads, and links for the checks that exist, in check order.

Revision ID: 0004
Revises: 0003
"""

from datetime import UTC, datetime

from training_identity.chains import CHAINS
from training_records.migration import create_record_chains, drop_record_chains

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_record_chains(CHAINS, datetime.now(UTC))


def downgrade() -> None:
    drop_record_chains()
