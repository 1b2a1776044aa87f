"""Stage 6, what results mean: the store and its history, comparisons, A/B statistics, terminal
rendering."""
