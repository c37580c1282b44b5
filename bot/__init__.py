"""pledgebot core: platform-neutral commands, storage, search and reminders."""
