"""Golden model of the virtio-net / virtio-blk device (pure Python, no cocotb).

Spec facts come from ``shared/reference/virtio.md``; docstrings cite its
sections (§n).  The package imports nothing from the bench or a simulator.

Module map, bottom up:

========================  =====================================================
module                    holds
========================  =====================================================
``errors``                DeviceNeedsReset, ModelUsageError, DeviceBehaviourError
``memory``                Memory protocol, SparseMemory, TeeMemory, BumpAllocator
``features``              feature-bit enums, dependency table, FEATURES_OK decision
``status``                device_status state machine
``common_cfg``            common configuration register model (§3.3)
``buffers``               Buffer / Segment: a walked descriptor chain
``packed_layout``         packed descriptor, event suppression struct, RingPos
``packed_ring``           packed virtqueue, device side
``packed_driver``         packed virtqueue, driver side (Linux-like)
``split_ring``            split virtqueue layout and device side
``split_driver``          split virtqueue, driver side (Linux-like)
``event_suppression``     notification rules (§4.4, §5) and their checkers
``coalescing``            notification coalescing bounds (§6.6)
``msix``                  MSI-X table, PBA, masking (§9.3)
``disk``                  blk backing store (bytearray or image file)
``blk_config`` / ``blk``  virtio-blk config layout and request processing (§7)
``net`` / ``net_rx``      virtio-net header, config, TX, RX filter and placement
``net_ctrl``              virtio-net control queue (§6.4-§6.6)
``function``              FunctionModel: one PCI function, the shared core
``device``                Device: the model serving a driver
``mismatch`` / ``ranges`` Mismatch, CheckError, CheckerOptions; byte-range helpers
``checker``               Checker: the model judging observed device behaviour
========================  =====================================================
"""
