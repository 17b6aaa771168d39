"""Every command's output, in one layer (no click here: :mod:`recorder.cli` only picks and prints).

* :mod:`~recorder.output.files` — the one atomic file writer (``-o FILE``; ``-`` is standard output).
* :mod:`~recorder.output.stdout` — standard output whose write errors (a full disk) are one ``OutputError``.
* :mod:`~recorder.output.report` — ``Report`` and ``Column``: typed rows, the shape of every report.
* :mod:`~recorder.output.formats` — a Report as a terminal table (the one table renderer), CSV, JSON or Parquet.
* :mod:`~recorder.output.listings` — what ``sessions``, ``hold list`` and ``audit`` print, for people and scripts.
* :mod:`~recorder.output.text` — small wording helpers (``counted``).
"""
