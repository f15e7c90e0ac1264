"""A throwaway local PostgreSQL server, for the test suite and the benchmarks.

``initdb`` into a temporary directory, ``pg_ctl start`` on a free loopback port (its unix
socket in that directory too), a fresh empty schema per store (its URL sets
``search_path``; a database each would copy ~10 MB of catalog), ``pg_ctl stop`` and the
directory removed at the end. ``with PostgresServer() as server: server.new_database()``.

The binaries come from ``$UUE_TEST_PG_BIN``, else the newest ``/usr/lib/postgresql/*/bin``
(Debian's ``postgresql`` package), else ``initdb`` on ``PATH``. PostgreSQL refuses to run
as root: as root the server runs as the OS user ``$UUE_TEST_PG_OS_USER``, else
``postgres``, else ``nobody`` (through ``runuser``). Authentication is scram-sha-256 with
a random password, so the clients connect the way a deployment does.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "uue"


def find_bin_dir() -> Path:
    if os.environ.get("UUE_TEST_PG_BIN"):
        return Path(os.environ["UUE_TEST_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError("PostgreSQL server binaries not found (initdb, pg_ctl): install Debian's `postgresql` "
                       "package (.ci/run does) or set UUE_TEST_PG_BIN to their directory")


def os_user() -> str | None:
    """The OS user to run the server as, or ``None`` to run it as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("UUE_TEST_PG_OS_USER"), "postgres", "nobody"):
        if name:
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
    raise RuntimeError("running as root and no OS user to run PostgreSQL as: create one (useradd postgres) "
                       "or set UUE_TEST_PG_OS_USER")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = find_bin_dir()
        self.user = os_user()
        self.password = secrets.token_urlsafe(18)
        # /tmp: a unix socket path must stay under ~100 bytes, and the server's OS user must reach it
        self.dir = Path(tempfile.mkdtemp(prefix="uue-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.data = self.dir / "data"
        self.port = 0
        self._names = itertools.count(1)
        self._started = False

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> PostgresServer:
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.dir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        for attempt in range(3):  # the free port may be taken between the probe and the start
            self.port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                          "-o", options, "start")
                self._started = True
                return self
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise RuntimeError(f"PostgreSQL did not start:\n{self.log()}") from None
        return self

    def log(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"

    def url(self, database: str = "postgres", *, password: str | None = None, schema: str | None = None) -> str:
        url = (f"postgresql://{SUPERUSER}:{self.password if password is None else password}"
               f"@127.0.0.1:{self.port}/{database}")
        return url if schema is None else f"{url}?options=-csearch_path%3D{schema}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE / DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """A fresh, empty store: the URL (password included) of a new schema that is first on its search path."""
        name = f"test_{next(self._names)}"
        self.admin(f"CREATE SCHEMA {name}")
        return self.url(schema=name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self._started = False
        shutil.rmtree(self.dir, ignore_errors=True)
