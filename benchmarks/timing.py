"""Clocks and medians: how every number in the table is taken."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

# CPU time of this process, not wall time: the machine may be shared, and another process
# getting the CPU for a while should not count against whichever engine was running.
clock = time.process_time

Phases = dict[str, float | str]  # phase name -> seconds, or the name of the error it raised


def fresh() -> None:
    """Start each measurement with no garbage left over from the previous one."""
    gc.collect()


def median_phases(runs: list[Phases]) -> Phases:
    """The median of each phase over runs; a phase that failed in any run keeps its error."""
    result: Phases = {}
    for phase in runs[0]:
        values = [run[phase] for run in runs]
        failed = [v for v in values if isinstance(v, str)]
        result[phase] = failed[0] if failed else statistics.median([float(v) for v in values])
    return result


def timed(fn: Callable[[], object]) -> float:
    """Seconds of CPU that one call of fn takes."""
    start = clock()
    fn()
    return clock() - start
