"""Credentials of the local cluster: a CA, the API server's serving certificate, the
service-account signing key, static bearer tokens for the admin, the control-plane components
and the test users, and kubeconfig files that use them; plus the aggregation layer's pair (a
front-proxy CA and client certificate) and the resource metrics API's serving certificate.

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
# The aggregator's client identity (kubeadm's name); extension API servers accept only it.
FRONT_PROXY_CLIENT = "front-proxy-client"
# The resource metrics API is registered through this Service (an ExternalName to localhost),
# and the aggregator checks the serving certificate against this host name.
METRICS_SERVICE_NAMESPACE, METRICS_SERVICE_NAME = "kube-system", "metrics-server"
METRICS_SERVICE_HOST = f"{METRICS_SERVICE_NAME}.{METRICS_SERVICE_NAMESPACE}.svc"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _ca(stem: Path, common_name: str) -> None:
    """A self-signed CA: ``<stem>.key`` and ``<stem>.crt``."""
    key = stem.with_suffix(".key")
    _openssl("genrsa", "-out", str(key), "2048")
    _openssl(
        "req", "-x509", "-new", "-key", str(key), "-days", "3650",
        "-subj", f"/CN={common_name}", "-out", str(stem.with_suffix(".crt")),
    )  # fmt: skip


def _issue(stem: Path, ca: Path, common_name: str, extensions: str) -> None:
    """A key and a certificate signed by the CA at `ca` (a stem), with x509v3 `extensions`."""
    key, csr, ext = (stem.with_suffix(s) for s in (".key", ".csr", ".ext"))
    _openssl("genrsa", "-out", str(key), "2048")
    _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={common_name}", "-out", str(csr))
    ext.write_text(extensions)
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca.with_suffix(".crt")),
        "-CAkey", str(ca.with_suffix(".key")), "-CAcreateserial", "-days", "3650",
        "-extfile", str(ext), "-out", str(stem.with_suffix(".crt")),
    )  # fmt: skip


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

    @property
    def front_proxy_ca(self) -> Path:
        """The CA the API server's aggregator proves itself with to extension API servers."""
        return self.root / "front-proxy-ca.crt"

    @property
    def proxy_client_cert(self) -> Path:
        return self.root / "front-proxy-client.crt"

    @property
    def proxy_client_key(self) -> Path:
        return self.root / "front-proxy-client.key"

    @property
    def metrics_cert(self) -> Path:
        """Serving certificate of the resource metrics API (named after its Service)."""
        return self.root / "metrics.crt"

    @property
    def metrics_key(self) -> Path:
        return self.root / "metrics.key"

    def generate(self) -> None:
        """Create both CAs, the serving certificates, the aggregator's client certificate,
        the SA key pair and the tokens."""
        self.root.mkdir(parents=True, exist_ok=True)
        _ca(self.root / "ca", "localcluster-ca")
        _ca(self.root / "front-proxy-ca", "localcluster-front-proxy-ca")
        _issue(
            self.root / "apiserver",
            self.root / "ca",
            "kube-apiserver",
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
            "DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n",
        )
        _issue(
            self.root / "metrics",
            self.root / "ca",
            METRICS_SERVICE_HOST,
            f"subjectAltName=DNS:{METRICS_SERVICE_HOST},DNS:localhost\n"
            "extendedKeyUsage=serverAuth\n",
        )
        _issue(
            self.root / "front-proxy-client",
            self.root / "front-proxy-ca",
            FRONT_PROXY_CLIENT,
            "extendedKeyUsage=clientAuth\n",
        )
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
