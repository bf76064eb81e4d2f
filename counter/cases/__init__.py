"""The application service: cases opened and moved one transaction per step.

* ``desk``: :class:`~counter.cases.desk.Desk` (open, fire, approve, reject) and,
  through ``reading``, get, list, journal and approvals with the access rules;
* ``dispatch``: the outbox :class:`~counter.cases.dispatch.Dispatcher`;
* ``reservations``: the business objects open cases hold (one case per
  terminal), taken and given back in the step's transaction;
* ``services``: :class:`~counter.cases.services.Services`, what checks and
  actions see as ``services``;
* ``views``: the pydantic models the desk returns (never table rows).
"""
