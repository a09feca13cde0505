"""`python -m training_certificates [serve|migrate]`."""

from training_certificates.service import MIGRATIONS, CertificatesService
from training_certificates.settings import CertificatesSettings
from training_runtime.cli import main

if __name__ == "__main__":
    main(CertificatesService, CertificatesSettings, migrations=MIGRATIONS)
