"""Focused bench for vio_net_rx."""
