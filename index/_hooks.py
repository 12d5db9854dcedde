"""Named pause points in the write path, so that crash tests can kill a writer at a chosen moment.

A test starts the writing process with two environment variables:

* ``VNSEARCH_PAUSE_AT``: a comma-separated list of point names, each optionally ``NAME#N``
  (only the Nth time this process reaches the point; a bare name pauses every time);
* ``VNSEARCH_PAUSE_PIPE``: the path of a named pipe (FIFO) that the test holds open for writing.

At such a point the process writes ``paused NAME N`` on a line of its standard output, flushed,
and then blocks until it reads one line from the pipe: the test reads the ``paused`` line, looks
at the index as the process left it, and either kills the process (SIGKILL lands exactly there)
or writes a line to the pipe to let it go on. Once the test closes its end, every pause goes on
at once. A pipe opened by name, rather than standard input, works in every process of a write:
the merge that an import runs in a process of its own (whose standard input multiprocessing
replaces with ``/dev/null``) pauses the same way, whether that process was forked or spawned.
Without ``VNSEARCH_PAUSE_AT`` a checkpoint costs one dictionary lookup.

Points (see the calls of :func:`checkpoint`; counts are per process, and a merge process is
new for each background merge):

* ``segment-written``: a batch's segment files are complete on disk, no TOC lists them yet;
* ``toc-written``: the new TOC is written and synced under its temporary name, not renamed
  into place (the middle of a commit; every commit reaches it: deletes, merges, optimize too);
* ``batch-committed``: a batch's commit is visible to readers, the next batch is not started;
* ``merge-start``, ``merge-documents`` (stored fields copied), ``merge-field-NAME`` (before the
  postings of field NAME), ``merge-written`` (the merged segment complete on disk, listed by no
  TOC): the stages of writing a merged segment, in the merging process (``index/_merge.py``);
* ``merge-committing`` (the TOC that lists the merged segment is about to be written) and
  ``merge-committed``: in the committing process.

A new point is one call and one line here.

>>> checkpoint("batch-committed")  # no VNSEARCH_PAUSE_AT: nothing happens
"""

from __future__ import annotations

import collections
import os
import sys

ENV = "VNSEARCH_PAUSE_AT"
PIPE_ENV = "VNSEARCH_PAUSE_PIPE"

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
        pipe = os.environ.get(PIPE_ENV)
        if not pipe:
            raise RuntimeError(f"{ENV} is set but {PIPE_ENV} names no pipe to wait on")
        sys.stdout.write(f"paused {name} {n}\n")
        sys.stdout.flush()
        _read_line(pipe)


def _read_line(pipe: str) -> None:
    """Block until a line (or the end: no writer left) can be read from the named pipe ``pipe``.
    Opened without waiting for a writer, so a test that has closed its end never blocks us."""
    fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.set_blocking(fd, True)
        while os.read(fd, 1) not in (b"\n", b""):  # one byte at a time: leave the next line to the next pause
            pass
    finally:
        os.close(fd)
