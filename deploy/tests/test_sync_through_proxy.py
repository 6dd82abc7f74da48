"""Offline sync through nginx against two nodes whose clocks are seven seconds apart: writers of two users and
a syncing client, spread over both nodes by the load balancer, converge exactly."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path

from deploy.cluster import Cluster
from deploy.tests.conftest import Proxy, call
from evotodo.tests.test_live_sync import CLOCK_SKEW, converge


def test_writers_and_a_syncing_client_converge_through_nginx_over_nodes_with_skewed_clocks(
    make_cluster: Callable[..., Cluster], tmp_path: Path
) -> None:
    cluster = make_cluster(
        nodes=2, workers=2, env={"API_THROTTLE_USER": "off"}, node_prefix={1: ["faketime", "-f", CLOCK_SKEW]}
    )
    dates = [parsedate_to_datetime(call(node.url, "GET", "/healthz").headers["Date"]) for node in cluster.nodes]
    assert 5 <= (dates[1] - dates[0]).total_seconds() <= 9  # node 1 really lives seven seconds ahead

    figures = converge([Proxy(cluster)], tmp_path)

    served_by = {
        port: cluster.nginx_log().count(f'"upstream":"127.0.0.1:{port}"') for port in (n.port for n in cluster.nodes)
    }
    assert all(count > 50 for count in served_by.values()), served_by  # both nodes, the skewed one too
    print(f"\nsync through nginx, node 1 at {CLOCK_SKEW}: {figures}, requests per node {served_by}")
