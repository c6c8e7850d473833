"""Focused cocotb bench for vio_pcie_cq_reg (CQ requests -> reg accesses -> CC completions)."""
