"""A throwaway three-master Redis Cluster on loopback, for the tests that run on a cluster.

Started once per test session (`redis_cluster` in tests/conftest.py) in a temporary directory,
on free ports, keeping nothing on disk, and stopped at the end. Needs `redis-server` and
`redis-cli` on PATH; without them the tests that ask for it are skipped, saying why.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

MASTERS = 3
BUS_OFFSET = 10_000  # a cluster node also listens on port + 10000 (the cluster bus)
START_DEADLINE = 30.0


@dataclass(frozen=True)
class Cluster:
    ports: tuple[int, ...]

    @property
    def url(self) -> str:
        """What `REDIS_URL` says to reach it."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def sync_client(self) -> redis.RedisCluster:
        nodes = [redis.cluster.ClusterNode("127.0.0.1", p) for p in self.ports]
        return redis.RedisCluster(startup_nodes=nodes)


def missing_tools() -> str | None:
    """Why a cluster cannot be started here, or None."""
    absent = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    return f"{' and '.join(absent)} not on PATH: no Redis Cluster to test on" if absent else None


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports that are free, and whose cluster-bus port is free too."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + BUS_OFFSET < 65536 and port not in found and _is_free(port + BUS_OFFSET):
            found.append(port)
    return found


def _wait(condition: str, check: object, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (redis.ConnectionError, redis.ResponseError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the test Redis Cluster did not come up: {condition}")


@contextmanager
def running_cluster(workdir: Path) -> Iterator[Cluster]:
    ports = _free_ports(MASTERS)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            home = workdir / str(port)
            home.mkdir(parents=True)
            servers.append(
                subprocess.Popen(  # our own arguments
                    [
                        "redis-server",
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(home),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "5000",
                        "--logfile",
                        "server.log",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + START_DEADLINE
        for port in ports:
            node = redis.Redis(port=port)
            _wait(f"port {port} answers", node.ping, deadline)
            node.close()
        subprocess.run(
            [  # redis-cli from PATH, checked by missing_tools()
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=START_DEADLINE,
        )
        for port in ports:
            node = redis.Redis(port=port)
            _wait(
                f"port {port} sees every slot",
                lambda n=node: (
                    b"cluster_state:ok" in n.execute_command("CLUSTER", "INFO")
                    and len(n.execute_command("CLUSTER", "SLOTS")) == MASTERS
                ),
                deadline,
            )
            node.close()
        yield Cluster(tuple(ports))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
