"""Stage 2, reading a transcript: the CLI's stream-json as typed events, framing, usage and cost,
the summary."""
