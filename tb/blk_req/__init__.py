"""Focused bench for vio_blk_req."""
