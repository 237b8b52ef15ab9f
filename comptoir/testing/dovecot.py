"""A private Dovecot IMAP server for tests: free loopback port, throwaway config and mail.

Needs Debian's `dovecot-imapd` (`apt-get install -y dovecot-imapd`). Any user name logs in
with `Dovecot.password`; give each test its own user name and it gets an empty mailbox.

    with Dovecot() as server:
        client = IMAPClient(server.host, port=server.port, ssl=False)
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from comptoir.testing.net import free_port

DOVECOT_BINARY = "dovecot"
PASSWORD = "secret"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%u
first_valid_uid = 1
# IDLE learns of new mail from inotify; where it cannot (a loaded machine out of inotify
# instances), it looks every interval, by default 30 s: longer than any test waits.
mailbox_idle_check_interval = 1 secs
{unprivileged}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""

# Without root, every Dovecot process runs as the current user.
_UNPRIVILEGED = """\
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
"""


_SSL = """\
ssl = yes
ssl_cert = <{base}/cert.pem
ssl_key = <{base}/key.pem
"""


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed or could not start here."""


def dovecot_installed() -> bool:
    """Whether the `dovecot` binary is on PATH (or in /usr/sbin)."""
    return _binary() is not None


def _binary() -> str | None:
    return shutil.which(DOVECOT_BINARY) or shutil.which(
        DOVECOT_BINARY, path="/usr/sbin:/usr/local/sbin"
    )


class Dovecot:
    """One private Dovecot instance; `start()` / `stop()` or use it as a context manager."""

    host = "127.0.0.1"
    password = PASSWORD

    def __init__(self, *, tls: bool = False) -> None:
        """With `tls`, also serve IMAPS on `tls_port` and STARTTLS on `port`.

        The certificate is self-signed for 127.0.0.1: trust `ca_file` (e.g. SSL_CERT_FILE).
        """
        self.tls = tls
        self.port = 0
        self.tls_port = 0
        self.base: Path | None = None
        self._pid: int | None = None

    @property
    def ca_file(self) -> Path:
        assert self.base is not None and self.tls
        return self.base / "cert.pem"

    def _make_certificate(self) -> None:
        assert self.base is not None
        openssl = shutil.which("openssl")
        if openssl is None:
            raise DovecotUnavailable("openssl is not installed (needed for a TLS Dovecot)")
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(self.base / "key.pem"),
                "-out",
                str(self.base / "cert.pem"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def new_user(self) -> str:
        """A user name never used before on this server (so an empty mailbox)."""
        return f"u{uuid.uuid4().hex[:12]}"

    def start(self, timeout: float = 15.0) -> None:
        """Write the config, start the master and wait until IMAP answers."""
        binary = _binary()
        if binary is None:
            raise DovecotUnavailable("dovecot is not installed (apt-get install dovecot-imapd)")
        self.base = Path(tempfile.mkdtemp(prefix="comptoir-dovecot-"))
        # Dovecot's mail processes run as `nobody` (root) and must reach the mail dir.
        self.base.chmod(0o755)
        for sub in ("run", "state", "mail"):
            (self.base / sub).mkdir()
        if self.tls:
            self._make_certificate()
        if os.geteuid() == 0:
            uid, gid = "nobody", "nogroup"
            try:
                grp.getgrnam(gid)
            except KeyError:
                gid = "nobody"
            shutil.chown(self.base / "mail", user=uid, group=gid)
            unprivileged = ""
        else:
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            uid, gid = str(os.getuid()), str(os.getgid())
            unprivileged = _UNPRIVILEGED.format(user=user, group=group)
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = free_port()
            self.tls_port = free_port() if self.tls else 0
            config = self.base / "dovecot.conf"
            config.write_text(
                _CONFIG.format(
                    base=self.base,
                    port=self.port,
                    tls_port=self.tls_port,
                    ssl=_SSL.format(base=self.base) if self.tls else "ssl = no",
                    uid=uid,
                    gid=gid,
                    password=self.password,
                    unprivileged=unprivileged,
                )
            )
            # The master daemonizes; its children inherit the output, so a pipe would
            # never close: errors go to a file instead.
            errors = self.base / "start.err"
            with errors.open("wb") as err:
                result = subprocess.run(
                    [binary, "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    timeout=timeout,
                )
            if result.returncode == 0 and self._wait_ready(timeout):
                self._pid = int((self.base / "run" / "master.pid").read_text().strip())
                return
            last_error = errors.read_text(errors="replace").strip() or self.log_tail()
            self._kill_master()
        raise DovecotUnavailable(f"dovecot did not start: {last_error}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return (self.base / "run" / "master.pid").exists()  # type: ignore[operator]
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def log_tail(self, lines: int = 20) -> str:
        """The end of Dovecot's log, for error messages."""
        if self.base is None or not (self.base / "dovecot.log").exists():
            return ""
        return "\n".join((self.base / "dovecot.log").read_text().splitlines()[-lines:])

    def _kill_master(self) -> None:
        pid = self._pid
        if pid is None and self.base is not None:
            pid_file = self.base / "run" / "master.pid"
            if pid_file.exists():
                pid = int(pid_file.read_text().strip())
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        """Stop the master (it stops its children) and remove the throwaway folder."""
        self._kill_master()
        self._pid = None
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None


def dovecot_server(*, tls: bool = False) -> Iterator[Dovecot]:
    """Generator for a pytest fixture: a running Dovecot, or a skip with the reason."""
    import pytest

    if not dovecot_installed():
        pytest.skip("dovecot is not installed: apt-get install -y dovecot-imapd")
    server = Dovecot(tls=tls)
    try:
        server.start()
    except DovecotUnavailable as exc:
        server.stop()
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
