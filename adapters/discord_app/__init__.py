"""Discord adapter: app commands on the core over discord.py's gateway client, rendered as embeds."""
