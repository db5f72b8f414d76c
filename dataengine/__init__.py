"""ACE data engine: builds instruction pairs for all-round image creation and editing."""

__version__ = "0.1.0"
