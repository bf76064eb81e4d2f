"""The peers we compare counter with, and the same work written for counter.

``pos_unbind.bpmn`` is the flagship's shape as a BPMN 2.0 process, run with
SpiffWorkflow by :mod:`bench.peers.spiff_runner`; ``workflows/`` and
``forms/`` hold the same shape for counter, run by
:mod:`bench.peers.counter_runner`. Both complete the same six user tasks
with the same form data (:mod:`bench.peers.cases`).
"""
