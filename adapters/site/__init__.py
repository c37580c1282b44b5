"""The public tracker site: the meter, a page per pledge, search, downloads and an Atom feed of ratings."""
