"""reference pair makers."""
