"""A compiled query (evotodo/queries.py) returns what its queryset returns, on edge data, compiled once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from authn.models import User
from evotodo.queries import CompiledQuery
from tasks.models import Task
from tasks.ordering import SORT_KEYS, sorted_rows, sorted_tasks
from tasks.serializers import TASK_ROW
from tasks.views import OWN_TASK, owned_tasks

MODEL_ATTRIBUTES = [field.attname for field in Task._meta.concrete_fields]


def state(tasks: list[Task], annotations: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Everything a loaded task carries: its columns, how it was loaded, and its annotations."""
    return [
        {
            **{name: getattr(task, name) for name in [*MODEL_ATTRIBUTES, *annotations]},
            "adding": task._state.adding,
            "db": task._state.db,
            "class": type(task),
        }
        for task in tasks
    ]


@pytest.fixture
def edge_tasks(alice: User, bob: User) -> list[Task]:
    """Empty and null planning fields, and the extremes of each: dates at years 1 and 9999, long and
    non-ASCII text, the largest rule; and one of bob's."""
    return [
        Task.objects.create(owner=alice, title="x"),
        Task.objects.create(
            owner=alice,
            title="ß\u2028🙂" + "t" * 197,
            description="d" * 1000,
            completed=True,
            completed_at=datetime(1, 1, 1, tzinfo=UTC),
            priority=3,
            tags=["Ä", "b" * 50, '"quoted", \\ back'],
            due_at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            remind_at=datetime(1, 1, 1, 0, 0, tzinfo=UTC),
            recurrence={
                "freq": "yearly",
                "interval": 365,
                "until": "9999-12-31",
                "anchor": "9999-12-31T10:00:00-13:59",
            },
        ),
        Task.objects.create(owner=alice, title="no rule", recurrence=None, tags=[]),
        Task.objects.create(owner=bob, title="bob's"),
    ]


def test_a_task_by_owner_and_id_is_what_the_owners_queryset_holds(
    alice: User, bob: User, edge_tasks: list[Task]
) -> None:
    ids = [task.pk for task in edge_tasks] + [max(task.pk for task in edge_tasks) + 1, 0]
    for owner in (alice, bob):
        for pk in ids:
            expected = list(owned_tasks(owner.pk).filter(pk=pk))
            assert state(OWN_TASK.fetch(owner_id=owner.pk, pk=pk)) == state(expected), (owner, pk)


@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_a_sorted_page_with_its_sort_keys_is_what_the_queryset_returns(
    alice: User, edge_tasks: list[Task], sort: str
) -> None:
    def page(owner_id: int) -> QuerySet[Task]:
        return sorted_tasks(owned_tasks(owner_id), sort)[:3]

    keys = tuple(f"_sort{i}" for i in range(len(SORT_KEYS[sort])))
    assert state(CompiledQuery(page, "owner_id").fetch(owner_id=alice.pk), keys) == state(list(page(alice.pk)), keys)


@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_a_sorted_page_of_rows_is_what_the_querysets_values_list_returns(
    alice: User, edge_tasks: list[Task], sort: str
) -> None:
    """values_list() tuples, converted (tags and rules decoded, date-times as the backend reads them) in order."""

    def page(owner_id: int) -> QuerySet[Task]:
        return sorted_rows(owned_tasks(owner_id), sort, TASK_ROW)[:3]

    rows = CompiledQuery(page, "owner_id").fetch(owner_id=alice.pk)
    assert rows == list(page(alice.pk))
    assert all(type(row) is tuple for row in rows)
    assert len(rows) == 3


def test_rows_without_a_converter_are_what_the_querysets_values_list_returns(
    alice: User, edge_tasks: list[Task]
) -> None:
    def ids(owner_id: int) -> QuerySet[Task]:
        return owned_tasks(owner_id).order_by("-id").values_list("id", "title")

    assert CompiledQuery(ids, "owner_id").fetch(owner_id=alice.pk) == list(ids(alice.pk))


def test_the_queryset_is_built_and_compiled_once(alice: User, edge_tasks: list[Task]) -> None:
    built = []

    def build(owner_id: int) -> QuerySet[Task]:
        built.append(owner_id)
        return owned_tasks(owner_id)

    query = CompiledQuery(build, "owner_id")
    with CaptureQueriesContext(connection) as queries:
        query.fetch(owner_id=alice.pk)
        query.fetch(owner_id=alice.pk)
    assert len(built) == 1
    assert len(queries) == 2
    assert queries[0]["sql"] == queries[1]["sql"]
    assert str(alice.pk) in queries[0]["sql"]


@pytest.mark.parametrize(
    "build",
    [
        lambda owner_id: Task.objects.filter(owner_id=owner_id).select_related("owner"),
        lambda owner_id: Task.objects.filter(owner_id=owner_id).values("title"),
        lambda owner_id: Task.objects.filter(owner_id=owner_id).values_list("title", flat=True),
        lambda owner_id: Task.objects.filter(owner_id=owner_id).values_list("title", named=True),
        lambda owner_id: Task.objects.filter(owner_id=owner_id).only("title"),
        lambda owner_id: Task.objects.filter(owner_id=owner_id).prefetch_related("tag_keys"),
        lambda owner_id: Task.objects.all(),  # the value never reaches the SQL
    ],
    ids=["select_related", "values", "flat", "named", "deferred", "prefetch", "value_unused"],
)
def test_querysets_it_cannot_run_the_same_are_refused(db: Any, build: Any) -> None:
    with pytest.raises(ValueError, match=r"CompiledQuery|parameter"):
        CompiledQuery(build, "owner_id").fetch(owner_id=1)


def test_a_value_that_is_not_an_integer_is_refused(db: Any) -> None:
    with pytest.raises(TypeError, match="owner_id must be an int"):
        OWN_TASK.fetch(owner_id="1", pk=1)  # type: ignore[arg-type]


def test_a_locking_query_reads_what_the_owners_queryset_holds_and_locks_it(
    alice: User, bob: User, edge_tasks: list[Task]
) -> None:
    from django.db import transaction

    from tasks.services import OWN_TASK_FOR_UPDATE

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        for owner in (alice, bob):
            for task in edge_tasks:
                expected = list(owned_tasks(owner.pk).filter(pk=task.pk))
                assert state(OWN_TASK_FOR_UPDATE.fetch(owner_id=owner.pk, pk=task.pk)) == state(expected)
    locks = [query["sql"] for query in queries if "FOR UPDATE" in query["sql"]]
    # SQLite has no row locks (a write transaction locks the whole database): Django leaves the clause out.
    assert len(locks) == (2 * len(edge_tasks) if connection.features.has_select_for_update else 0)


def test_a_locking_query_is_refused_outside_a_transaction(transactional_db: Any) -> None:
    from django.db.transaction import TransactionManagementError

    from tasks.services import OWN_TASK_FOR_UPDATE

    with pytest.raises(TransactionManagementError), CaptureQueriesContext(connection) as queries:
        OWN_TASK_FOR_UPDATE.fetch(owner_id=1, pk=1)
    assert len(queries) == 0


@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_a_lists_and_the_inboxs_compiled_first_page_is_what_the_queryset_returns(
    alice: User, edge_tasks: list[Task], sort: str
) -> None:
    from tasks.models import TaskList
    from tasks.views import INBOX_ONLY, ONE_LIST, first_page_query, scoped_tasks

    work = TaskList.objects.create(owner=alice, name="Work", position="a0")
    Task.objects.filter(pk__in=[task.pk for task in edge_tasks[::2] if task.owner_id == alice.pk]).update(
        task_list=work
    )
    in_list = first_page_query(sort, 3, ONE_LIST).fetch(owner_id=alice.pk, list_id=work.pk)
    assert in_list == list(sorted_rows(scoped_tasks(alice.pk, ONE_LIST, work.pk), sort, TASK_ROW)[:3])
    assert in_list
    inbox = first_page_query(sort, 3, INBOX_ONLY).fetch(owner_id=alice.pk)
    assert inbox == list(sorted_rows(scoped_tasks(alice.pk, INBOX_ONLY), sort, TASK_ROW)[:3])
    assert inbox


def counter_of(user: User) -> int:
    from tasks.models import SyncState

    return SyncState.objects.filter(owner=user).values_list("seq", flat=True).first() or 0


def test_a_claimed_lock_reads_what_the_lock_reads_and_takes_one_number_each_time(
    alice: User, bob: User, edge_tasks: list[Task]
) -> None:
    from django.db import transaction

    from tasks.services import OWN_TASK_FOR_UPDATE

    for owner in (alice, bob):
        for task in edge_tasks:
            before = counter_of(owner)
            with transaction.atomic(), CaptureQueriesContext(connection) as queries:
                found, value = OWN_TASK_FOR_UPDATE.fetch_claimed([owner.pk], owner_id=owner.pk, pk=task.pk)
                expected = list(owned_tasks(owner.pk).filter(pk=task.pk))
            assert state(found) == state(expected)
            assert all(not hasattr(row, "claimed_value") for row in found)  # the value is returned, not set
            assert counter_of(owner) == before + 1  # taken even when no row was found
            if connection.vendor == "postgresql":
                # One statement: the claim joined to the locked row, whose value is None when there is no row.
                assert len(queries) == 2  # it, and the queryset read to compare
                assert queries[0]["sql"].startswith("WITH claimed(value) AS (INSERT INTO")
                assert queries[0]["sql"].endswith('FOR UPDATE OF "tasks_task"')
                assert value == (before + 1 if found else None)
            else:
                assert len(queries) == 3  # the claim in a statement of its own first
                assert value == before + 1


def test_a_claimed_query_needs_a_claimed_column(db: Any) -> None:
    with pytest.raises(ValueError, match="Claimed"):
        OWN_TASK.fetch_claimed([1], owner_id=1, pk=1)


def test_a_claimed_lock_is_refused_outside_a_transaction_before_anything_is_sent(transactional_db: Any) -> None:
    from django.db.transaction import TransactionManagementError

    from tasks.services import OWN_TASK_FOR_UPDATE

    if connection.vendor != "postgresql":
        pytest.skip("elsewhere the claim is a statement of its own, taken before the lock's check, as before")
    with pytest.raises(TransactionManagementError), CaptureQueriesContext(connection) as queries:
        OWN_TASK_FOR_UPDATE.fetch_claimed([1], owner_id=1, pk=1)
    assert len(queries) == 0


@pytest.mark.django_db(transaction=True)
def test_a_claimed_lock_locks_its_row_only_once_it_has_the_users_counter(alice: User) -> None:
    """Every write of a user queues on the user's counter before it locks anything: a write waiting for the counter
    holds no row lock meanwhile (else two writes could each hold what the other waits for)."""
    import threading
    import time

    from django.db import connections, transaction

    from tasks.services import OWN_TASK_FOR_UPDATE
    from tasks.sync import claim_change_seq

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks: SQLite locks the whole database for a write")
    task = Task.objects.create(owner=alice, title="Contended")
    holding, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def holder() -> None:  # another write of alice's, holding her counter
        try:
            with transaction.atomic():
                results["holder"] = claim_change_seq(alice.pk)
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    def locker() -> None:
        try:
            with transaction.atomic():
                found, results["locker"] = OWN_TASK_FOR_UPDATE.fetch_claimed([alice.pk], owner_id=alice.pk, pk=task.pk)
                results["found"] = [row.pk for row in found]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=holder), threading.Thread(target=locker)]
    threads[0].start()
    assert holding.wait(30)
    threads[1].start()
    try:
        with connection.cursor() as cursor:
            for _ in range(300):  # until the locker waits on the counter
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE 'WITH claimed%%'"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the claimed lock never waited on the counter")
            with transaction.atomic():  # the row is free: nothing locked it while it waited
                cursor.execute('SELECT id FROM "tasks_task" WHERE id = %s FOR UPDATE NOWAIT', [task.pk])
                assert cursor.fetchone() == (task.pk,)
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert results["found"] == [task.pk]
    assert results["locker"] == results["holder"] + 1
