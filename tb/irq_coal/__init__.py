"""Focused bench for vio_irq_coal."""
