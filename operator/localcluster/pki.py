"""Credentials of the local cluster: a CA, the API server's serving certificate, the
service-account signing key, static bearer tokens for the admin, the control-plane components
and the test users, and kubeconfig files that use them.

Static tokens keep "act as user X" to one kubeconfig per user; `openssl` (present on every
Debian/Ubuntu image) does the key generation so the harness needs no crypto library.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class User:
    """An identity the API server accepts through the static token file."""

    name: str
    groups: tuple[str, ...] = ()


ADMIN = User("admin", ("system:masters",))
CONTROLLER_MANAGER = User("system:kube-controller-manager")
SCHEDULER = User("system:kube-scheduler")
# Test users of the modelwarden RBAC story; add more here. The modelwarden:* groups are the
# default role → groups mapping of approvals (decide.gates.GovernanceConfig.role_groups).
TEST_USERS = (
    User("alice", ("ml-lead", "modelwarden:ml-leads")),
    User("bob", ("compliance", "modelwarden:compliance")),
    User("carol", ("business-owner", "modelwarden:business-owners")),
    User("dave", ("data-scientist", "modelwarden:ml-engineers")),
    User("mallory", ()),
)
ALL_USERS = (ADMIN, CONTROLLER_MANAGER, SCHEDULER, *TEST_USERS)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@dataclass(frozen=True)
class Pki:
    """Paths of the generated material inside `<state>/pki`."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def serving_cert(self) -> Path:
        return self.root / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.root / "apiserver.key"

    @property
    def sa_key(self) -> Path:
        return self.root / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.root / "sa.pub"

    @property
    def token_file(self) -> Path:
        return self.root / "tokens.csv"

    def generate(self) -> None:
        """Create the CA, serving cert (127.0.0.1 / localhost), SA key pair and tokens."""
        self.root.mkdir(parents=True, exist_ok=True)
        ca_key = self.root / "ca.key"
        _openssl("genrsa", "-out", str(ca_key), "2048")
        _openssl(
            "req", "-x509", "-new", "-key", str(ca_key), "-days", "3650",
            "-subj", "/CN=localcluster-ca", "-out", str(self.ca_cert),
        )  # fmt: skip
        _openssl("genrsa", "-out", str(self.serving_key), "2048")
        csr = self.root / "apiserver.csr"
        _openssl(
            "req", "-new", "-key", str(self.serving_key), "-subj", "/CN=kube-apiserver",
            "-out", str(csr),
        )  # fmt: skip
        ext = self.root / "apiserver.ext"
        ext.write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc\n"
            "extendedKeyUsage=serverAuth\n"
        )
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "3650", "-extfile", str(ext),
            "-out", str(self.serving_cert),
        )  # fmt: skip
        _openssl("genrsa", "-out", str(self.sa_key), "2048")
        _openssl("rsa", "-in", str(self.sa_key), "-pubout", "-out", str(self.sa_pub))
        rows = []
        for user in ALL_USERS:
            groups = ",".join(user.groups)
            rows.append(f'{secrets.token_hex(16)},{user.name},{user.name},"{groups}"')
        self.token_file.write_text("\n".join(rows) + "\n")
        self.token_file.chmod(0o600)

    def token(self, user: str) -> str:
        """The bearer token of `user` (KeyError when the user is unknown)."""
        for row in self.token_file.read_text().splitlines():
            token, name = row.split(",")[:2]
            if name == user:
                return token
        raise KeyError(f"no token for user {user!r}; known: {[u.name for u in ALL_USERS]}")

    def write_kubeconfig(self, path: Path, server: str, user: str, token: str = "") -> Path:
        """Write a kubeconfig for `user` (or any `token`) against `server`; return its path."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {"server": server, "certificate-authority": str(self.ca_cert)},
                }
            ],
            "users": [{"name": user, "user": {"token": token or self.token(user)}}],
            "contexts": [{"name": user, "context": {"cluster": "local", "user": user}}],
            "current-context": user,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path
