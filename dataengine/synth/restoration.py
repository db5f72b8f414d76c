"""restoration pair makers."""
