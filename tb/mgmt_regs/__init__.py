"""Focused bench for vio_mgmt_regs (the PeakRDL-generated management-port registers)."""
