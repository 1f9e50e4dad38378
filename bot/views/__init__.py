"""Block Kit for each kind of message and form, built from the content files."""
