"""Stage 1, foundations every stage uses: reading the user's files, writing atomically,
redacting secrets, text for a terminal, how figures read."""
