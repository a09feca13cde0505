"""`python -m training_supervision_simulator`: run the simulator until SIGTERM or SIGINT.

Settings from the environment: SIMULATOR_HOST (127.0.0.1), SIMULATOR_PORT (8443), SIMULATOR_TOKEN
(the bearer token clients must send; required) and SIMULATOR_CERT_FILE (where the self-signed
certificate made at start-up is written, for clients to trust; required).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from training_supervision_simulator.server import Simulator

log = logging.getLogger("training_supervision_simulator")


def write_certificate(path: Path, pem: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem)


async def run() -> int:
    token = os.environ.get("SIMULATOR_TOKEN", "")
    cert_file = os.environ.get("SIMULATOR_CERT_FILE", "")
    if len(token) < 16 or not cert_file:
        print("SIMULATOR_TOKEN (16+ characters) and SIMULATOR_CERT_FILE are required", file=sys.stderr)
        return 2
    simulator = Simulator(
        token=token,
        host=os.environ.get("SIMULATOR_HOST", "127.0.0.1"),
        port=int(os.environ.get("SIMULATOR_PORT", "8443")),
    )
    path = Path(cert_file)
    await asyncio.to_thread(write_certificate, path, simulator.certificate_pem)
    await simulator.start()
    log.info("provincial platform simulator listening on %s (certificate in %s)", simulator.url, path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await simulator.stop()
    return 0


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
