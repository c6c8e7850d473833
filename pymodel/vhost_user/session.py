"""One front-end connection: the vhost-user request handlers.

A :class:`Session` owns the shared memory, the :class:`~.vring.Vring` table
and the negotiated feature words of one connection.  :meth:`Session.handle`
applies one message; :meth:`Session.service` runs the device on one queue.
:meth:`Session.close` releases everything, and is safe to call in any state
the front-end may have left behind (it is what a disconnect triggers).

The FEATURES_OK decision of SET_STATUS, and the log line of SET_FEATURES,
come from :mod:`pymodel.status` and :mod:`pymodel.features`.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from ..errors import DeviceNeedsReset
from ..features import bits_of, feature_name, validate_driver_features
from ..status import DeviceStatus
from .channel import Channel, Message
from .device import VhostDevice
from .guest_memory import BadAddress, GuestMemory
from .protocol import (
    F_PROTOCOL_FEATURES,
    FLAG_NEED_REPLY,
    MAX_REGIONS,
    ProtocolError,
    ProtocolFeature,
    Request,
    VRING_IDX_MASK,
    VRING_NOFD,
    VringState,
    ConfigMsg,
    decode_config,
    decode_mem_table,
    decode_single_region,
    decode_u64,
    decode_vring_addr,
    decode_vring_state,
    encode_u64,
)
from .vring import Vring

__all__ = ["Session", "TRANSPORT_PROTOCOL_FEATURES"]

log = logging.getLogger("pymodel.vhost_user")

#: Protocol features the transport always offers.
TRANSPORT_PROTOCOL_FEATURES = (
    1 << ProtocolFeature.MQ
    | 1 << ProtocolFeature.REPLY_ACK
    | 1 << ProtocolFeature.STATUS
)
#: Feature bits that belong to the vhost-user channel, not to the device.
_CHANNEL_BITS = 1 << F_PROTOCOL_FEATURES | 1 << 26  # 26: VHOST_F_LOG_ALL

Handler = Callable[[Message], Optional[bytes]]


class Session:
    """State of one vhost-user connection.

    Args:
        channel: the connected socket.
        device: the personality that gives buffers their meaning.
        on_ring_change: called when the set of kick fds to watch changes.
    """

    def __init__(
        self, channel: Channel, device: VhostDevice, on_ring_change: Callable[[], None] = lambda: None
    ) -> None:
        self.channel = channel
        self.device = device
        self.mem = GuestMemory()
        self.vrings = [Vring(i) for i in range(device.num_queues)]
        self.features = 0
        self.protocol_features = 0
        self.status = DeviceStatus(self._validate_features)
        self.trace: list[str] = []
        self._on_ring_change = on_ring_change
        self._handlers: dict[int, Handler] = {
            Request.GET_FEATURES: self._get_features,
            Request.SET_FEATURES: self._set_features,
            Request.SET_OWNER: self._noop,
            Request.RESET_OWNER: self._reset_device,
            Request.RESET_DEVICE: self._reset_device,
            Request.SET_MEM_TABLE: self._set_mem_table,
            Request.ADD_MEM_REG: self._add_mem_reg,
            Request.REM_MEM_REG: self._rem_mem_reg,
            Request.GET_MAX_MEM_SLOTS: lambda m: encode_u64(MAX_REGIONS),
            Request.SET_LOG_BASE: self._noop,
            Request.SET_LOG_FD: self._noop,
            Request.SET_VRING_NUM: self._set_vring_num,
            Request.SET_VRING_ADDR: self._set_vring_addr,
            Request.SET_VRING_BASE: self._set_vring_base,
            Request.GET_VRING_BASE: self._get_vring_base,
            Request.SET_VRING_KICK: self._set_vring_kick,
            Request.SET_VRING_CALL: self._set_vring_call,
            Request.SET_VRING_ERR: self._set_vring_err,
            Request.GET_PROTOCOL_FEATURES: self._get_protocol_features,
            Request.SET_PROTOCOL_FEATURES: self._set_protocol_features,
            Request.GET_QUEUE_NUM: lambda m: encode_u64(self.device.num_queues),
            Request.SET_VRING_ENABLE: self._set_vring_enable,
            Request.SEND_RARP: self._noop,
            Request.NET_SET_MTU: self._noop,
            Request.SET_SLAVE_REQ_FD: self._noop,
            Request.SET_VRING_ENDIAN: self._noop,
            Request.GET_CONFIG: self._get_config,
            Request.SET_CONFIG: self._set_config,
            Request.SET_STATUS: self._set_status,
            Request.GET_STATUS: lambda m: encode_u64(self.status.value),
        }

    # -- dispatch ---------------------------------------------------------------------
    @property
    def offered_protocol_features(self) -> int:
        """What GET_PROTOCOL_FEATURES answers."""
        return TRANSPORT_PROTOCOL_FEATURES | self.device.protocol_features

    def _has_protocol(self, bit: ProtocolFeature) -> bool:
        return bool(self.protocol_features >> bit & 1)

    def handle(self, msg: Message) -> None:
        """Apply one message and send its reply (if it has one).

        Raises:
            ProtocolError: malformed message (the caller drops the connection).
            Disconnected: the reply could not be sent.
        """
        try:
            name = Request(msg.request).name
        except ValueError:
            name = f"request {msg.request}"
        self.trace.append(name)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("<- %s flags %#x payload %s fds %s", name, msg.flags, msg.payload.hex(), msg.fds)
        handler = self._handlers.get(msg.request)
        ok = True
        try:
            if handler is None:
                log.warning("unsupported %s ignored", name)
                ok = False
                reply = None
            else:
                reply = handler(msg)
        finally:
            msg.close_fds()
        if reply is not None:
            self.channel.send(msg.request, reply)
        elif msg.flags & FLAG_NEED_REPLY and self._has_protocol(ProtocolFeature.REPLY_ACK):
            self.channel.send(msg.request, encode_u64(0 if ok else 1))

    def _noop(self, msg: Message) -> None:
        return None

    def _vring(self, index: int) -> Vring:
        if not 0 <= index < len(self.vrings):
            raise ProtocolError(f"queue index {index} >= {len(self.vrings)}")
        return self.vrings[index]

    # -- features -------------------------------------------------------------------------
    def _get_features(self, msg: Message) -> bytes:
        return encode_u64(self.device.offered_features() | 1 << F_PROTOCOL_FEATURES)

    def _set_features(self, msg: Message) -> None:
        self.features = decode_u64(msg.payload, "SET_FEATURES")
        dev = self.device_features
        reason = validate_driver_features(self.device.device_type, self.device.offered_features(), dev)
        names = ", ".join(feature_name(self.device.device_type, b) for b in bits_of(dev))
        log.info("negotiated features %#x: %s", dev, names)
        if reason is not None:
            log.warning("driver feature set would be refused at FEATURES_OK: %s", reason)
        self.device.set_features(dev)
        if not self.features >> F_PROTOCOL_FEATURES & 1:
            for vq in self.vrings:  # rings start enabled without protocol features
                vq.enabled = True

    @property
    def device_features(self) -> int:
        """The negotiated virtio features, without the channel's own bits."""
        return self.features & ~_CHANNEL_BITS

    def _validate_features(self) -> Optional[str]:
        return validate_driver_features(
            self.device.device_type, self.device.offered_features(), self.device_features
        )

    def _get_protocol_features(self, msg: Message) -> bytes:
        return encode_u64(self.offered_protocol_features)

    def _set_protocol_features(self, msg: Message) -> None:
        value = decode_u64(msg.payload, "SET_PROTOCOL_FEATURES")
        self.protocol_features = value & self.offered_protocol_features

    def _set_status(self, msg: Message) -> None:
        res = self.status.write(decode_u64(msg.payload, "SET_STATUS"))
        log.info("status %#x %s%s", res.value, [e.value for e in res.events],
                 f" ({res.reason})" if res.reason else "")

    def _reset_device(self, msg: Message) -> None:
        self.stop_all()
        self.status.reset()
        self.device.reset()

    # -- memory ---------------------------------------------------------------------------
    def _set_mem_table(self, msg: Message) -> None:
        regions = decode_mem_table(msg.payload)
        if len(msg.fds) != len(regions):
            raise ProtocolError(f"SET_MEM_TABLE: {len(regions)} regions but {len(msg.fds)} fds")
        self.mem.close()
        for r in regions:
            self.mem.add(r, msg.take_fd())
        log.info("memory: %s", ", ".join(
            f"gpa {r.guest_phys_addr:#x}+{r.memory_size:#x} uva {r.userspace_addr:#x}" for r in regions))

    def _add_mem_reg(self, msg: Message) -> None:
        if not msg.fds:
            raise ProtocolError("ADD_MEM_REG without fd")
        self.mem.add(decode_single_region(msg.payload), msg.take_fd())

    def _rem_mem_reg(self, msg: Message) -> None:
        self.mem.remove(decode_single_region(msg.payload))

    # -- vrings -------------------------------------------------------------------------------
    def _set_vring_num(self, msg: Message) -> None:
        st = decode_vring_state(msg.payload)
        self._vring(st.index).num = st.num

    def _set_vring_addr(self, msg: Message) -> None:
        a = decode_vring_addr(msg.payload)
        self._vring(a.index).addr = a

    def _set_vring_base(self, msg: Message) -> None:
        st = decode_vring_state(msg.payload)
        self._vring(st.index).base = st.num

    def _get_vring_base(self, msg: Message) -> bytes:
        st = decode_vring_state(msg.payload)
        vq = self._vring(st.index)
        was_started = vq.started
        base = vq.stop()
        if was_started:
            self.device.ring_stopped(vq)
        self._on_ring_change()
        return VringState(st.index, base).pack()

    def _fd_message(self, msg: Message, what: str) -> tuple[Vring, int]:
        value = decode_u64(msg.payload, what)
        vq = self._vring(value & VRING_IDX_MASK)
        fd = -1 if value & VRING_NOFD else msg.take_fd()
        return vq, fd

    def _set_vring_kick(self, msg: Message) -> None:
        vq, fd = self._fd_message(msg, "SET_VRING_KICK")
        vq.set_kick(fd)
        try:
            feats = self.device_features
            vq.start(self.mem, feats, self.device.ring_builder(vq, self.mem, feats))
        except (ValueError, BadAddress) as e:
            vq.fail(str(e))
            log.warning("vq %d not started: %s", vq.index, e)
        self._on_ring_change()
        self.service(vq)

    def _set_vring_call(self, msg: Message) -> None:
        vq, fd = self._fd_message(msg, "SET_VRING_CALL")
        vq.set_call(fd)

    def _set_vring_err(self, msg: Message) -> None:
        vq, fd = self._fd_message(msg, "SET_VRING_ERR")
        vq.set_err(fd)

    def _set_vring_enable(self, msg: Message) -> None:
        st = decode_vring_state(msg.payload)
        vq = self._vring(st.index)
        vq.enabled = bool(st.num)
        self.service(vq)

    # -- config ----------------------------------------------------------------------------------
    def _get_config(self, msg: Message) -> bytes:
        req = decode_config(msg.payload)
        space = self.device.config()
        data = space[req.offset : req.offset + req.size]
        data += bytes(req.size - len(data))
        return ConfigMsg(req.offset, req.size, req.flags, data).pack()

    def _set_config(self, msg: Message) -> None:
        req = decode_config(msg.payload)
        self.device.set_config(req.offset, req.payload)

    # -- data path ----------------------------------------------------------------------------------
    def kick_fds(self) -> dict[int, Vring]:
        """Kick eventfd -> queue, for every started queue."""
        return {vq.kick_fd: vq for vq in self.vrings if vq.started and vq.kick_fd >= 0}

    def service(self, vq: Vring) -> None:
        """Run the device on ``vq`` until it makes no more progress.

        Kicks are suppressed while the device works and re-armed at the
        device's final avail position; a last look at the ring then catches a
        buffer the driver added before it could see the re-armed event.  A driver
        error breaks only this queue (DEVICE_NEEDS_RESET in the status).
        """
        if not vq.live or self.mem is None:
            return
        notify = (lambda: None) if self.device.notifies_itself else vq.notify
        try:
            while True:
                vq.suppress_kicks(True)
                while self.device.process(vq, self.mem):
                    notify()
                vq.suppress_kicks(False)  # written after the last pop: kicks re-armed exactly there
                if not (vq.has_available() and self.device.wants_buffers(vq)):
                    break
        except (DeviceNeedsReset, BadAddress) as e:
            log.warning("vq %d broken by the driver: %s", vq.index, e)
            vq.fail(str(e))
            self.status.set_needs_reset(str(e))

    def service_all(self) -> None:
        """Run every live queue (after a wake-up from the device side)."""
        for vq in self.vrings:
            self.service(vq)

    def stop_all(self) -> None:
        """Stop every ring and close its fds."""
        for vq in self.vrings:
            vq.close()
        self._on_ring_change()

    def close(self) -> None:
        """Release everything this connection held (any state is fine)."""
        self.stop_all()
        self.mem.close()
        self.device.reset()
        self.channel.close()
