"""DPDK's testpmd, driven interactively over a pipe (hil.md command lines).

:class:`TestPmd` starts ``dpdk-testpmd -i`` with one vdev, sends commands
and waits for the ``testpmd>`` prompt after each, and parses the port and
forward statistics.  Like every child of the hil tests it has a hard kill
timer and is killed by its PID.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from .proc import Proc

__all__ = ["TestPmd", "virtio_user_vdev", "vhost_vdev", "parse_stats"]

PROMPT = r"testpmd> $"  # may follow unfinished output of another lcore


def virtio_user_vdev(sock: str, packed: bool, queue_size: int = 256, extra: str = "") -> str:
    """DPDK's virtio driver (net_virtio_user) on vhost-user socket ``sock``."""
    return (f"net_virtio_user0,path={sock},queues=1,packed_vq={int(packed)},queue_size={queue_size}"
            + (f",{extra}" if extra else ""))


def vhost_vdev(sock: str) -> str:
    """DPDK's own vhost-user device (net_vhost), listening on ``sock``."""
    return f"net_vhost0,iface={sock},queues=1,client=0"


def parse_stats(text: str) -> dict[str, int]:
    """``NAME: value`` pairs of a testpmd statistics block (last occurrence wins)."""
    out: dict[str, int] = {}
    for name, value in re.findall(r"([A-Za-z][A-Za-z-]*[a-z]):\s+(\d+)", text):
        out[name] = int(value)
    return out


class TestPmd:
    """One interactive testpmd.

    Args:
        workdir: where the log goes (``<name>.log``).
        vdev: the ``--vdev`` string.
        lcores: EAL ``--lcores`` (main + one forwarding lcore, hil.md).
        mem_mb: ``-m`` (small keeps SET_MEM_TABLE fast, hil.md).
        args: extra application arguments (after ``--``).
        deadline: hard kill timer in seconds.
    """

    __test__ = False  # not a pytest class

    def __init__(
        self,
        workdir: Path,
        vdev: str,
        *,
        name: str = "testpmd",
        lcores: str = "0@1,1@1",
        mem_mb: int = 128,
        args: Sequence[str] = (),
        deadline: float = 120.0,
    ) -> None:
        argv = [
            # stdout is a pipe: without line buffering the statistics printed by
            # printf arrive after the prompt that cmdline writes directly
            "stdbuf", "-oL", "dpdk-testpmd", "--lcores", lcores, "--no-huge", "-m", str(mem_mb), "--no-pci",
            "--no-shconf", "--file-prefix", name, "--vdev", vdev,
            "--", "-i", "--nb-cores=1", "--total-num-mbufs=16384", *args,
        ]
        self.proc = Proc(argv, workdir / f"{name}.log", deadline=deadline, stdin=True)
        self.proc.wait_for(PROMPT, 60)

    def cmd(self, line: str, timeout: float = 30.0) -> str:
        """Run one command; return what it printed before the next prompt."""
        start = len(self.proc.lines)
        self.proc.send(line)
        self.proc.wait_for(PROMPT, timeout, start)
        end = len(self.proc.lines)
        return "\n".join(self.proc.lines[start : end])

    def port_stats(self, port: int = 0) -> dict[str, int]:
        """``show port stats``: RX-packets, RX-bytes, TX-packets, TX-bytes, RX-nombuf..."""
        return parse_stats(self.cmd(f"show port stats {port}"))

    def stop(self) -> dict[str, int]:
        """``stop``: forwarding statistics of the run (RX-packets, TX-dropped, ...)."""
        text = self.cmd("stop")
        block = text.split("Accumulated forward statistics")[0]
        return parse_stats(block)

    def close(self) -> int:
        """``quit`` (GET_VRING_BASE etc. happen here), then reap or kill by PID."""
        if self.proc.p.poll() is None:
            try:
                self.proc.send("quit")
            except (BrokenPipeError, OSError):
                pass
            if self.proc.wait(15) is None:
                self.proc.kill()
        return self.proc.close()

    def __enter__(self) -> "TestPmd":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
