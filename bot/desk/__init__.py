"""The newsroom desk: editors rate pledges and add quotes, pledges and milestones in chat, each checked
against its fetched source (provenance), journalled, and undoable."""
