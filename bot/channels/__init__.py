"""Channel and workspace settings: a channel's language, and who may edit the catalogue."""
