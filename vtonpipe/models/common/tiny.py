"""What every tiny preset shares: where it keeps its weights, and a log line per phase.

build_tiny_ir(out_dir) writes the seeded weights to out_dir/TINY_WEIGHTS and the IR folder to
out_dir itself, logging each phase on the "vtonpipe.models" logger (`models tiny` prints them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

TINY_WEIGHTS = "tiny-weights"
log = logging.getLogger("vtonpipe.models")


@contextmanager
def phase(what: str) -> Iterator[None]:
    """Log `what` with the seconds it took once the block is done."""
    start = time.perf_counter()
    yield
    log.info("%s (%.1f s)", what, time.perf_counter() - start)
