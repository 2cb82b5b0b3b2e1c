"""A private RabbitMQ node with a TLS listener and a self-signed CA.

A :class:`~bench.brokers.PrivateNode` (its own name, free ports, data and logs in a
temporary folder, always stopped) that also listens for TLS and demands client
certificates. The certificates are made with ``openssl`` for this run only.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.brokers import PrivateNode, free_port

__all__ = ["TLSNode"]


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


class TLSNode(PrivateNode):
    """``with TLSNode() as node:`` a broker on ``node.tls_port`` that demands client
    certificates (and on ``node.port`` plain AMQP, for setting it up)."""

    def __init__(self) -> None:
        self.tls_port = free_port()
        super().__init__()
        self.ca = self.folder / "ca.pem"
        self.client_cert = self.folder / "client.pem"
        self.client_key = self.folder / "client.key"
        self.config += [
            f"listeners.ssl.1 = 127.0.0.1:{self.tls_port}",
            f"ssl_options.cacertfile = {self.ca}",
            f"ssl_options.certfile = {self.folder / 'server.pem'}",
            f"ssl_options.keyfile = {self.folder / 'server.key'}",
            "ssl_options.verify = verify_peer",
            "ssl_options.fail_if_no_peer_cert = true",
        ]

    def launch(self) -> None:
        if not self.ca.exists():
            make_certificates(self.folder)  # handed to the rabbitmq user with the folder
        super().launch()

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
