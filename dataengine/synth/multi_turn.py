"""multi_turn pair makers."""
