"""Focused bench for vio_pring_avail."""
