"""Stage 3, the model's side: the local HTTP server, the scripted Messages API, the record/replay
proxy and its cassettes."""
