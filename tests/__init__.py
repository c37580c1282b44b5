"""pledgebot test suite."""
