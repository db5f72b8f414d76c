"""element pair makers."""
