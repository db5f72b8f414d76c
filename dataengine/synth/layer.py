"""layer pair makers."""
