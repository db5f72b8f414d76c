"""generation pair makers."""
