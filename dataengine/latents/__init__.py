"""Latents precomputed for the VAE presets of the bundled model (`ace data latents`)."""
