"""runner's version: one place, read by the CLI, stored results and cassettes."""

__version__ = "0.1.0"
