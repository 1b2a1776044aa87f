"""Stage 5, evaluating a suite: scenarios, checks, the cache and run keys, the suite runner, tapes,
the cluster, and ReplayEngine over stored runs."""
