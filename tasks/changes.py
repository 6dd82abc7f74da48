"""What the rest of the system hears of a write: each change of a task or a list, told by the service that made
it, inside the write's own transaction, so that whatever a listener writes commits or rolls back with the change.

Not a Django signal: bulk writes send none, and a change that goes unheard is an event lost. The events app
listens (events.apps) and writes each change to its outbox; `tasks` never imports it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from tasks.models import Task, TaskList

Entity = Literal["task", "list"]
Action = Literal["created", "updated", "completed", "deleted"]


@dataclass(frozen=True, slots=True)
class Change:
    """One change: of what, which, whose, its change number in the owner's feed (tasks.sync), and the row as
    it is after the change (None when deleted)."""

    entity: Entity
    action: Action
    owner_id: int
    pk: int
    seq: int
    instance: Task | TaskList | None = None


Listener = Callable[[list[Change]], None]
_listeners: list[Listener] = []
# A listener's writes for a change, as SQL run in the changing statement itself (evotodo.queries, `beside`): given
# the change of a row being inserted (its `pk` None and `seq` 0 until the row is in), the SQL and parameters of
# INSERTs that take them from the inserted row (`inserted.id`, `inserted.change_seq`); given the change of a row
# being updated (its `pk` and `seq` known), INSERTs that read no row.
InStatement = Callable[[Change], list[tuple[str, list[Any]]]]
_in_statement: dict[Listener, InStatement] = {}
# The changes held back by `in_change_order` in this thread (None: tell at once).
_held = threading.local()


def listen(listener: Listener, in_statement: InStatement | None = None) -> None:
    """Hear every change from now on (once per listener, however often this is called); with `in_statement`,
    also the way to hear a row's insert in the INSERT's own statement (`told_in_statement`)."""
    if listener not in _listeners:
        _listeners.append(listener)
    if in_statement is not None:
        _in_statement[listener] = in_statement


class NotInStatement(Exception):
    """Raised by an `InStatement` that cannot write in the statement this time (before anything is sent): the
    writer then makes the change as any other, in its transaction, and tells it after."""


def told_in_statement() -> InStatement | None:
    """How to tell a change within the statement that makes it (a row's INSERT or UPDATE): every listener's SQL
    for it (`InStatement`). None when a listener has no such way, or while changes are held back
    (`in_change_order`): the change is then told after the statement (`tell`), as any other."""
    if getattr(_held, "changes", None) is not None or any(listener not in _in_statement for listener in _listeners):
        return None
    forms = [_in_statement[listener] for listener in _listeners]
    return lambda change: [statement for form in forms for statement in form(change)]


def tell(changes: Iterable[Change]) -> None:
    """Tell the listeners about these changes, in their order; call it inside the write's transaction."""
    told = list(changes)
    held = getattr(_held, "changes", None)
    if held is not None:
        held.extend(told)
    elif told:
        for listener in _listeners:
            listener(told)


@contextmanager
def in_change_order() -> Iterator[None]:
    """Hold what is told inside back, then tell it in the order of the change numbers: a write whose changes are
    made in another order than they were numbered (completing a recurring task numbers its completion first, then
    makes its next occurrence) still tells them in their feed's order. Inside the write's transaction; nothing is
    told when the block fails."""
    if getattr(_held, "changes", None) is not None:  # nested: the outermost tells
        yield
        return
    _held.changes = []
    try:
        yield
        held = sorted(_held.changes, key=lambda change: (change.owner_id, change.seq))
    finally:
        _held.changes = None
    tell(held)


def task_saved(task: Task, action: Action = "updated") -> Change:
    """The change a saved task made."""
    return Change("task", action, task.owner_id, task.pk, task.change_seq, task)


def task_deleted(owner_id: int, pk: int, seq: int) -> Change:
    return Change("task", "deleted", owner_id, pk, seq)


def list_saved(task_list: TaskList, action: Action = "updated") -> Change:
    return Change("list", action, task_list.owner_id, task_list.pk, task_list.change_seq, task_list)


def list_deleted(owner_id: int, pk: int, seq: int) -> Change:
    return Change("list", "deleted", owner_id, pk, seq)
