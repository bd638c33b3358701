"""The board: notes, kept in the database, shown on a page and in a JSON API."""
