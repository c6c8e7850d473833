"""Focused bench for vio_net_tx."""
