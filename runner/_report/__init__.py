"""Stage 7, the dashboard: stored results as one self-contained HTML page (the runs table, each
run's transcript, the A/B statistics, comparisons, side by side), and view's local server."""
