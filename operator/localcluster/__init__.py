"""A real local Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler,
kwok fake nodes and a local pod runner) for integration tests and the demo; not part of the
operator itself. See docs/local-cluster.md.
"""

from localcluster.cluster import ClusterError, LocalCluster, wait_until
from localcluster.pki import TEST_USERS, User
from localcluster.traffic import ServiceClient

__all__ = ["TEST_USERS", "ClusterError", "LocalCluster", "ServiceClient", "User", "wait_until"]
