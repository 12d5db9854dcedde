"""Named pause points in the write path, so that crash tests can kill an import at a chosen moment.

A test starts the writing process with ``VNSEARCH_PAUSE_AT`` set to a comma-separated list of
point names, each optionally ``NAME#N`` (only the Nth time the point is reached; a bare name
pauses every time). At such a point the process writes ``paused NAME N`` on a line of its
standard output, flushed, and then blocks reading one line of standard input: the test reads
the line, looks at the index as the process left it, and either kills the process (SIGKILL
lands exactly there) or writes a line to let it go on. Without the variable a checkpoint costs
one dictionary lookup. Pool workers never reach a checkpoint; only the committing process does.

Points (see the calls of :func:`checkpoint`):

* ``segment-written``: a batch's segment files are complete on disk, no TOC lists them yet;
* ``toc-written``: the new TOC is written and synced under its temporary name, not renamed
  into place (the middle of a commit);
* ``batch-committed``: a batch's commit is visible to readers, the next batch is not started.

``toc-written`` is reached by every commit (deletes, merges, optimize too). A new point is one
call and one line here.

>>> checkpoint("batch-committed")  # no VNSEARCH_PAUSE_AT: nothing happens
"""

from __future__ import annotations

import collections
import os
import sys

ENV = "VNSEARCH_PAUSE_AT"

_counts: collections.Counter[str] = collections.Counter()


def checkpoint(name: str) -> None:
    """Pause here if ``VNSEARCH_PAUSE_AT`` names this point (see the module docstring)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    _counts[name] += 1
    n = _counts[name]
    wanted = {part.strip() for part in spec.split(",")}
    if name in wanted or f"{name}#{n}" in wanted:
        sys.stdout.write(f"paused {name} {n}\n")
        sys.stdout.flush()
        sys.stdin.readline()
