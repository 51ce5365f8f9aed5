"""One blueprint module per area; each exposes `bp`."""
