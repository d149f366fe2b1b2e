"""Resource limits checked before work starts: memory a command is about to allocate.

Commands that allocate by user-given sizes (``simulate --n/--steps``, ``sample --n``,
``lyapunov spectrum --n``) estimate their peak memory first and refuse, with one line, when it
exceeds the limit: ``--max-memory`` when given, else the memory the machine has available now
(``MemAvailable`` of ``/proc/meminfo``, Linux; elsewhere the physical memory from ``sysconf``).
Loading a dataset checks each array's size, as its header declares it, the same way (see
:func:`chaosgan.dataset.load`), before a byte of it is read.
"""

from __future__ import annotations

import os
import re

from chaosgan.errors import ChaosganError

MAX_INTEGRATION_STEPS = 10**9  # per trajectory: beyond this a run would take days, not a typo
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """``"512M"``, ``"4G"``, ``"1.5GiB"``, ``"1000000"`` (bytes) -> bytes; one-line errors."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise ChaosganError(f"{text!r} is not a memory size (e.g. 512M, 4G)")
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if value < 1:
        raise ChaosganError(f"memory size {text!r} is below one byte")
    return int(value)


def format_size(nbytes: float) -> str:
    """Bytes as a short human string in binary units: ``1.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(nbytes) < 1024:
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (Linux ``MemAvailable``)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return 2**63


def check_memory(nbytes: float, what: str, max_memory: int | None = None) -> None:
    """Refuse ``what`` when its estimated ``nbytes`` exceed ``max_memory`` (or what is available).

    Raises:
        ChaosganError: one line naming the estimate, the limit and where the limit came from.
    """
    limit = max_memory if max_memory is not None else available_memory()
    source = "--max-memory" if max_memory is not None else "memory available on this machine"
    if nbytes > limit:
        raise ChaosganError(
            f"{what} needs about {format_size(nbytes)}, more than the {format_size(limit)} "
            f"{source}; use smaller sizes"
        )
