"""semantic pair makers."""
