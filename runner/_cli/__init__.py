"""Stage 8, the commands: the parser, each command's glue, progress on a terminal."""
