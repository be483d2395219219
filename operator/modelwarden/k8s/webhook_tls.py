"""A self-signed serving certificate for the admission webhook.

The API server only calls webhooks over TLS and trusts the ``caBundle`` kopf registers with
the webhook configuration, which for a self-signed certificate is the certificate itself.
``openssl`` generates it (kopf's own generator needs optional packages this image lacks); a
deployment with cert-manager passes its own files instead.
"""

from __future__ import annotations

import ipaddress
import subprocess
import tempfile
from pathlib import Path


def _san(host: str) -> str:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"DNS:{host}"
    return f"IP:{host}"


def self_signed(host: str, folder: Path | None = None) -> tuple[Path, Path]:
    """(certificate, private key) files valid for ``host`` (an IP or DNS name), for a year."""
    root = folder or Path(tempfile.mkdtemp(prefix="modelwarden-webhook-"))
    cert, key = root / "tls.crt", root / "tls.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={host}",
            "-addext", f"subjectAltName={_san(host)}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key
