"""The `ace` command: the data engine's, the model's and the captioner's commands in one."""
