"""The Slack adapter: slash commands and buttons in, Block Kit out, over Socket Mode or HTTP."""
