"""The plugin's door to the cluster: the current kubeconfig context, and readable errors.

Every command acts with the user's own credentials (so RBAC and the admission webhook see
who acts); an API refusal becomes one line naming the user, the verb and the resource rather
than a stack trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import click
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

GROUP, VERSION = "modelwarden.io", "v1alpha1"
Obj = dict[str, Any]
PLURALS = {"mv": "modelversions", "mdep": "modeldeployments"}
KIND_NAMES = {
    "modelversions": "ModelVersion",
    "modeldeployments": "ModelDeployment",
    "driftpolicies": "DriftPolicy",
}


@dataclass
class Cluster:
    api: client.ApiClient
    namespace: str

    @classmethod
    def connect(cls, namespace: str | None) -> Cluster:
        try:
            load: Any = config.load_kube_config  # untyped in the library
            load()
            contexts: Any = config.list_kube_config_contexts
            _, context = contexts()
        except (config.ConfigException, OSError) as exc:
            raise click.ClickException(f"no usable kubeconfig: {exc}") from exc
        default = (context or {}).get("context", {}).get("namespace", "default")
        return cls(client.ApiClient(), namespace or default)

    @property
    def objects(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def get(self, plural: str, name: str) -> Obj:
        with self.explained("get", plural, name):
            found = self.objects.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name
            )
        return cast(Obj, found)

    def items(self, plural: str) -> list[Obj]:
        with self.explained("list", plural, ""):
            found = self.objects.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural
            )
        return cast(list[Obj], cast(Obj, found)["items"])

    def patch(self, plural: str, name: str, body: Obj) -> Obj:
        """A JSON merge patch of the main resource (spec, annotations)."""
        with self.explained("patch", plural, name):
            done = self.objects.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                plural,
                name,
                body,
                _content_type="application/merge-patch+json",
            )
        return cast(Obj, done)

    def events(self, kind: str, name: str) -> list[Obj]:
        """Events about one object (not, say, the slot's Service, which shares its name)."""
        core = client.CoreV1Api(self.api)
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        with self.explained("list", "events", ""):
            found = core.list_namespaced_event(self.namespace, field_selector=selector)
        plain: Any = self.api.sanitize_for_serialization  # untyped in the library
        return [cast(Obj, plain(e)) for e in found.items]

    def whoami(self) -> str:
        """The authenticated user name, as the API server sees it (SelfSubjectReview)."""
        try:
            review = client.AuthenticationV1Api(self.api).create_self_subject_review(
                client.V1SelfSubjectReview(
                    api_version="authentication.k8s.io/v1", kind="SelfSubjectReview"
                )
            )
        except ApiException:
            return ""  # an older server: the command still works, unattributed
        info = review.status.user_info if review.status else None
        return str(info.username or "") if info else ""

    @contextmanager
    def explained(self, verb: str, plural: str, name: str) -> Iterator[None]:
        try:
            yield
        except ApiException as exc:
            raise click.ClickException(self._explain(exc, verb, plural, name)) from exc

    def _explain(self, exc: ApiException, verb: str, plural: str, name: str) -> str:
        try:
            message = str(json.loads(exc.body or "{}").get("message", exc.reason))
        except ValueError:
            message = str(exc.reason)
        kind = KIND_NAMES.get(plural, plural)
        if exc.status == 404:
            return f"{kind} {name!r} not found in namespace {self.namespace!r}"
        if exc.status == 403 and "forbidden: User" in message:
            user = re.search(r'User "([^"]*)"', message)
            who = user.group(1) if user else "you"
            return f"user {who} cannot {verb} {plural} in {self.namespace} ({message})"
        return f"{verb} {kind} {name}: {message}"


def split_ref(ref: str, default: str) -> tuple[str, str]:
    """``mv/NAME`` or ``mdep/NAME`` (or a bare NAME of the ``default`` kind) → (plural, name).

    >>> split_ref("mv/fraud-v2", "mdep")
    ('modelversions', 'fraud-v2')
    >>> split_ref("fraud", "mdep")
    ('modeldeployments', 'fraud')
    """
    prefix, _, name = ref.rpartition("/")
    aliases = {
        "mv": "mv", "modelversion": "mv", "modelversions": "mv",
        "mdep": "mdep", "modeldeployment": "mdep", "modeldeployments": "mdep",
    }  # fmt: skip
    if prefix and prefix not in aliases:
        raise click.BadParameter(f"{ref!r}: expected mv/NAME or mdep/NAME")
    return PLURALS[aliases[prefix] if prefix else default], name


namespace_option = click.option(
    "-n", "--namespace", default=None, help="Namespace (default: the context's)."
)
