"""`python -m training_identity [serve|migrate|create-operator|retention run [--dry-run]]`."""

from training_identity import bootstrap
from training_identity.retention import command as retention
from training_identity.service import MIGRATIONS, IdentityService
from training_identity.settings import IdentitySettings
from training_runtime.cli import main


def _configure(parser, parsers):  # type: ignore[no-untyped-def]
    bootstrap.configure(parsers["create-operator"])
    retention.configure(parsers["retention"])


if __name__ == "__main__":
    main(
        IdentityService,
        IdentitySettings,
        migrations=MIGRATIONS,
        commands={
            "create-operator": ("create the first operator account", bootstrap.run),
            "retention": ("delete face data and erase personal data whose retention is over", retention.run),
        },
        configure=_configure,
    )
