"""Golden model of the virtio-net / virtio-blk device (pure Python, no cocotb)."""
