"""Tiered authority: which level an approval needs, who holds it, and where it escalates.

An approval state's ``authority`` (``AuthorityDefinition``) lists levels
(roles, lowest first) and the level some findings need. The level an
approval needs is the highest its findings need. A local approver (of the
case's branch; the desk checks the branch) may approve when one of their
roles is that level or a higher one; a remote authorizer (a role in
``remote``) may approve at any level, for any branch. After
``escalate_after_minutes`` the approval escalates one level up, and from
the top level to the remote centre (:data:`REMOTE`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from counter.engine.definition import AuthorityDefinition, StateDefinition
from counter.engine.types import Actor, Finding
from counter.text import Text

__all__ = ["REMOTE", "escalation", "is_remote", "refusal", "required_level"]

REMOTE = "remote"
"""What an approval escalates to from the top level: the remote authorization centre."""


def required_level(state: StateDefinition, findings: Iterable[Finding]) -> str | None:
    """The lowest level that may approve all of ``findings`` (None: no tiers declared)."""
    authority = state.authority
    if authority is None:
        return None
    ranks = [authority.levels.index(authority.findings.get(f.code, authority.levels[0]))
             for f in findings]
    return authority.levels[max(ranks, default=0)]


def is_remote(state: StateDefinition, actor: Actor) -> bool:
    """Whether ``actor`` approves here as the remote authorization centre."""
    return state.authority is not None and bool(actor.roles & set(state.authority.remote))


def _holds(authority: AuthorityDefinition, actor: Actor, level: str) -> bool:
    return bool(actor.roles & set(authority.levels[authority.levels.index(level):]))


def refusal(state: StateDefinition, findings: Iterable[Finding], actor: Actor) -> Text | None:
    """Why ``actor`` may not approve ``findings`` here, or None if they may."""
    authority = state.authority
    level = required_level(state, findings)
    if authority is None or level is None or is_remote(state, actor):
        return None
    if _holds(authority, actor, level):
        return None
    return Text(
        zh=f"此审批需要 {level} 或更高级别的授权",
        en=f"this approval needs the authority of {level} or higher",
    )


def escalation(
    state: StateDefinition,
    level: str | None,
    raised_at: datetime,
    now: datetime,
) -> str | None:
    """Where an approval needing ``level``, waiting since ``raised_at``, escalates now.

    None while the service-level time has not run out (or none is declared).
    """
    authority = state.authority
    if authority is None or authority.escalate_after_minutes is None or level is None:
        return None
    if now - raised_at < timedelta(minutes=authority.escalate_after_minutes):
        return None
    index = authority.levels.index(level) if level in authority.levels else 0
    if index + 1 < len(authority.levels):
        return authority.levels[index + 1]
    return REMOTE if authority.remote else None
