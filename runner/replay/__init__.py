"""Local model endpoints: the scripted Messages API (and, later, record/replay)."""
