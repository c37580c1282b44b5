"""The console adapter: the same core in a terminal, with no credentials at all."""
