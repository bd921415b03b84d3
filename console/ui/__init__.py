"""The window layer: the only part of console/ that imports Qt."""
