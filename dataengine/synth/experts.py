"""experts pair makers."""
