"""A second, private RabbitMQ node with a TLS listener and a self-signed CA.

The node runs beside the machine's broker (its own name, ports, data and logs in a
temporary folder), demands client certificates, and is stopped afterwards. The
certificates are made with ``openssl`` for this run only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["TLSNode"]

NODE = "edeposit-tls@localhost"
AMQP_PORT, TLS_PORT, DIST_PORT = 5681, 5682, 25682


def _openssl(*arguments: str, cwd: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> None:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate."""
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=edeposit test CA",
        cwd=folder,
    )
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, subject, extra in (
        ("server", "/CN=localhost", ["-extfile", "san.ext"]),
        ("client", "/CN=edeposit-client", []),
    ):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            subject,
            cwd=folder,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            *extra,
            cwd=folder,
        )


class TLSNode:
    """``with TLSNode() as node:`` a broker on ``node.tls_port`` that speaks only TLS."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="edeposit-tls-"))
        self.tls_port = TLS_PORT
        self.ca = self.folder / "ca.pem"
        self.client_cert = self.folder / "client.pem"
        self.client_key = self.folder / "client.key"

    def start(self) -> TLSNode:
        make_certificates(self.folder)
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {AMQP_PORT}\n"
            f"listeners.ssl.default = {TLS_PORT}\n"
            f"ssl_options.cacertfile = {self.ca}\n"
            f"ssl_options.certfile = {self.folder / 'server.pem'}\n"
            f"ssl_options.keyfile = {self.folder / 'server.key'}\n"
            "ssl_options.verify = verify_peer\n"
            "ssl_options.fail_if_no_peer_cert = true\n"
        )
        (self.folder / "enabled_plugins").write_text("[].\n")
        for path in self.folder.iterdir():
            path.chmod(0o644)
        shutil.chown(self.folder, "rabbitmq", "rabbitmq")  # the server runs as this user
        for path in self.folder.iterdir():
            shutil.chown(path, "rabbitmq", "rabbitmq")
        env = {
            **os.environ,
            "RABBITMQ_NODENAME": NODE,
            "RABBITMQ_NODE_PORT": str(AMQP_PORT),
            "RABBITMQ_DIST_PORT": str(DIST_PORT),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "node.pid"),
        }
        subprocess.run(
            ["rabbitmq-server", "-detached"], env=env, check=True, timeout=60, capture_output=True
        )
        deadline = time.monotonic() + 60
        while subprocess.run(
            ["rabbitmqctl", "-q", "-n", NODE, "await_startup"],
            capture_output=True,
            timeout=70,
            check=False,
        ).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the TLS test node did not start (logs in {self.folder})")
            time.sleep(1)
        return self

    def stop(self) -> None:
        subprocess.run(
            ["rabbitmqctl", "-q", "-n", NODE, "stop"], capture_output=True, timeout=60, check=False
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def env(self, *, client_certificate: bool = True) -> dict[str, str]:
        """Settings that reach this node over TLS (vhost ``/``, guest over loopback)."""
        env = {
            "RABBITMQ_HOST": "localhost",
            "RABBITMQ_PORT": str(self.tls_port),
            "RABBITMQ_USE_TLS": "true",
            "RABBITMQ_TLS_CA_FILE": str(self.ca),
            "RABBITMQ_ALEPH_VIRTUALHOST": "/",
        }
        if client_certificate:
            env["RABBITMQ_TLS_CERT_FILE"] = str(self.client_cert)
            env["RABBITMQ_TLS_KEY_FILE"] = str(self.client_key)
        return env

    def __enter__(self) -> TLSNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
