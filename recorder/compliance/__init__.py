"""Compliance archiving on top of the event log: verification (:mod:`.verify`), anchors against truncation and
rollback (:mod:`.anchor`, :mod:`.merkle`), export bundles a third party can check without the database
(:mod:`.export`, :mod:`.bundle`), and retention with legal hold (:mod:`.retention`).

The SQL behind all of it lives in :mod:`recorder.store.compliance`; the append-only triggers in migration 0002.
"""
