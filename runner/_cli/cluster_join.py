"""``eval --cluster`` and ``ab --cluster`` on the command line: what cannot run on a cluster,
and joining one (Ray is imported here, only when --cluster is given)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from runner._cli.cmdline import say
from runner._util.figures import plural

if TYPE_CHECKING:
    from runner._evaluate import cluster
    from runner._evaluate.planning import Settings


def join(args: argparse.Namespace, settings: Settings) -> cluster.Remote | str:
    """--cluster: join it and check its nodes (--concurrency: at most its CPUs, and that by
    default); the producer of the misses, or the line that says why not."""
    try:
        from runner._evaluate import cluster
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "ray":
            raise
        return RAY_MISSING
    try:
        cpus = cluster.connect(args.cluster)
        nodes = cluster.check_nodes(settings.cli_version)
    except cluster.ClusterError as exc:
        return str(exc)
    # More at once than its CPUs would only queue on the cluster, their safety-net clocks
    # running (cluster.SAFETY_MARGIN_S).
    args.concurrency = min(args.concurrency or cpus, cpus)
    say(
        f"cluster {args.cluster}: {plural(nodes, 'node')} with claude {settings.cli_version}, "
        f"{plural(cpus, 'CPU')}"
    )
    return cluster.Remote()


def not_on_a_cluster(settings: Settings) -> str | None:
    """Why these settings cannot run on a cluster, in a line; None when they can."""
    if settings.sandbox == "none":
        # Its PID namespace is what ends a run's CLI when the task is cancelled on a node.
        return "--cluster: runs on a cluster are sandboxed; leave out --sandbox none"
    if settings.cassettes is not None and settings.cassettes.mode != "none":
        return (
            "--cluster: recording cassettes (--record, --replay-mode new or all) runs on this "
            "machine only; replay with --replay DIR, or leave out --cluster"
        )
    return None


RAY_MISSING = (
    "--cluster: Ray is not installed here; pip install 'runner[ray]' (here and on every node)"
)
