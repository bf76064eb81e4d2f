"""The names the banking workflows use: checks, conditions, actions and form validators.

Importing ``counter.banking.rules`` registers them in
``counter.engine.registry.default_registry``; the workflow files
(``workflows/pos_unbind.yaml``, ``workflows/settlement_card_change.yaml``)
refer to them by name only.

* ``validators``: the format of what a teller types, field by field.
* ``checks``: the person and the document (``id_*``, ``agent_mandate``) and
  the teller's own password at sign-off.
* ``binding``: the merchant, terminal, account and person against the
  acquirer's registry; the new account of a card change.
* ``code``: the one-time unbind code: sent on entering the code step,
  checked on ``confirm_code``; only its HMAC and time are kept, and wrong
  attempts are refusals the journal counts.
* ``actions``: the outbox effects (acquirer unbind and bind, slip).

Outside systems are reached only through the ``services`` object the
runtime passes (``counter.cases.Services``); see ``_support``.
"""

from . import actions, binding, channels, checks, code, validators
from ._support import CODES, PASSWORDS, REFUSALS, CodeAnswer, OneTimeCodes

__all__ = [
    "CODES",
    "PASSWORDS",
    "REFUSALS",
    "CodeAnswer",
    "OneTimeCodes",
    "actions",
    "binding",
    "channels",
    "checks",
    "code",
    "validators",
]
