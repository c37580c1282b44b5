"""Officials: speakers with offices, regions and terms; the words that name them; `/pledge officials`."""
