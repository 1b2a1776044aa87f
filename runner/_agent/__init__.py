"""Stage 4, one agent run: finding the CLI, its argv and environment, the process and its reaper,
the sandbox, the workspace, lanes, and run_one."""
