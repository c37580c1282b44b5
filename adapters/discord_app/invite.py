"""The link that adds the bot to a Discord server, asking for exactly the permissions it uses there."""

from __future__ import annotations

import discord

from adapters.discord_app.client import DIGEST_PERMISSIONS

# Seeing, posting in and reading the history of a digest's channel (DIGEST_PERMISSIONS: a retried digest
# looks for itself before posting), a shared quote card's image as a file, and members using its commands.
PERMISSIONS = discord.Permissions(
    **dict.fromkeys(DIGEST_PERMISSIONS, True), attach_files=True, use_application_commands=True
)
SCOPES = ("bot", "applications.commands")


def invite_url(application_id: int) -> str:
    """Discord's authorize link for the application: the bot and its commands, with `PERMISSIONS`."""
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)
