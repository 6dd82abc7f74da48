"""Demo users and tasks for a local run or a staging database: deterministic, so seeding is idempotent."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from fractional_indexing import generate_n_keys_between

from authn.models import User
from tasks.changes import list_saved, task_saved, tell
from tasks.models import Priority, Task, TaskList, TaskTag, list_name_key, tag_key
from tasks.order_keys import time_key
from tasks.recurrence import Rule
from tasks.sync import claim_change_seq

DEMO_ID_PREFIX = "demo"
DEMO_EMAIL_DOMAIN = "demo.evotodo.test"
BATCH_SIZE = 2000

FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Dennis"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen", "Ritchie"]
# Title, description, the list it belongs in (None: the inbox), tags, and how it recurs (None: once).
TASKS = [
    ("Buy groceries", "Milk, eggs, spinach and coffee beans.", "Shopping", ["errands"], None),
    ("Book dentist appointment", "Ask for an early morning slot.", "Personal", ["health", "calls"], None),
    ("Renew passport", "Photos are in the desk drawer; the form is online.", "Personal", ["admin"], None),
    ("Call mom", "", None, ["family", "calls"], ("weekly", 1)),
    ("Pay electricity bill", "Due at the end of the month.", "Personal", ["bills", "admin"], ("monthly", 1)),
    ("Prepare slides for Monday's review", "Cover last quarter's numbers and the roadmap.", "Work", ["meetings"], None),
    ("Fix the leaking kitchen tap", "Buy a new washer first.", "Personal", ["home"], None),
    ("Water the plants", "", None, ["home"], ("daily", 3)),
    ("Read 'Designing Data-Intensive Applications'", "Chapter 5: replication.", "Personal", ["reading"], None),
    ("Plan the weekend hike", "Check the weather and the train times.", "Personal", ["outdoors"], None),
    ("Reply to Sam about the offsite", "", "Work", ["email"], None),
    ("Clean out the garage", "Donate the old bike.", "Personal", ["home"], None),
    ("Update CV", "Add the last two projects.", "Work", ["career"], None),
    ("Go for a 5 km run", "", None, ["health", "outdoors"], ("weekly", 1)),
    ("Back up the laptop", "External drive is in the bag.", "Work", ["admin"], ("monthly", 1)),
    ("Cancel unused streaming subscription", "", "Personal", ["bills"], None),
    ("Write thank-you note to Alex", "For the birthday present.", None, ["family"], None),
    ("Schedule car service", "It's making that noise again.", "Personal", ["calls"], None),
    ("File the expense report", "Receipts from the conference trip.", "Work", ["admin", "email"], None),
    ("Learn three new Spanish verbs", "", None, ["learning"], ("daily", 1)),
]
SUBTASK_EVERY = 5
# Each demo user's lists, in this order and colour.
LISTS = [("Work", "#2563eb"), ("Personal", "#16a34a"), ("Shopping", "#f59e0b")]


@dataclass(frozen=True)
class SeedResult:
    users: list[User]
    users_created: int
    tasks_created: int
    users_deleted: int


def demo_user_id(n: int) -> str:
    """The Better Auth id of demo user n: 32 characters, like Better Auth's own."""
    return f"{DEMO_ID_PREFIX}{n:028d}"


def demo_name(n: int) -> str:
    """A pleasant, repeatable full name for demo user n."""
    return f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(3 * n + n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"


def demo_task(owner: User, n: int, user_number: int, now: datetime, lists: dict[str, TaskList]) -> Task:
    """Task n of a demo user: the same title, list, tags, priority, dates and state every time. Some are due (a
    few overdue), some have a reminder, the routine ones recur, some are done."""
    rng = random.Random(f"{user_number}:{n}")  # noqa: S311 (demo data, not security)
    title, description, list_name, tags, rule = TASKS[rng.randrange(len(TASKS))]
    created = now - timedelta(days=rng.randrange(90), minutes=rng.randrange(24 * 60))
    completed = rng.random() < 0.4
    done_at = min(created + timedelta(days=rng.randrange(1, 10)), now) if completed else None
    due_at = remind_at = recurrence = None
    if rule is not None or rng.random() < 0.6:
        # Due from ten days ago (overdue unless done) to three weeks ahead, at a round hour.
        due_at = (now + timedelta(days=rng.randrange(-10, 21))).replace(
            hour=rng.choice([9, 12, 17, 20]), minute=0, second=0, microsecond=0
        )
        if rng.random() < 0.5:
            remind_at = due_at - timedelta(hours=rng.choice([1, 24]))
    if rule is not None and not completed:
        freq, interval = rule
        recurrence = Rule(freq=freq, interval=interval, until=None, anchor=due_at).to_json()
    return Task(
        owner=owner,
        title=title,
        description=description,
        task_list=lists[list_name] if list_name else None,
        tags=list(tags),
        priority=rng.choice([Priority.NONE, Priority.NONE, Priority.LOW, Priority.MEDIUM, Priority.HIGH]),
        due_at=due_at,
        remind_at=remind_at,
        recurrence=recurrence,
        completed=completed,
        completed_at=done_at,
        created_at=created,
        position=time_key(created),
    )


def demo_lists(users: list[User], first_numbers: dict[int, int]) -> dict[int, dict[str, TaskList]]:
    """Each demo user's lists by name; those missing (`missing_lists`) are created in bulk, numbered in their
    owner's change sequence from `first_numbers` on."""
    have = existing_lists(users)
    positions = dict(zip((name for name, _ in LISTS), generate_n_keys_between(None, None, len(LISTS)), strict=True))
    new = [
        TaskList(
            owner=user,
            name=name,
            name_key=list_name_key(name),
            color=color,
            position=positions[name],
            change_seq=first_numbers[user.pk] + i,
        )
        for user in users
        for i, (name, color) in enumerate(missing_lists(have[user.pk]))
    ]
    created = TaskList.objects.bulk_create(new, batch_size=BATCH_SIZE)
    tell(list_saved(task_list, "created") for task_list in created)
    for task_list in created:
        have[task_list.owner_id][task_list.name] = task_list
    return have


def existing_lists(users: list[User]) -> dict[int, dict[str, TaskList]]:
    have: dict[int, dict[str, TaskList]] = {user.pk: {} for user in users}
    for task_list in TaskList.objects.filter(owner__in=users):
        have[task_list.owner_id][task_list.name] = task_list
    return have


def missing_lists(have: dict[str, TaskList]) -> list[tuple[str, str]]:
    return [(name, color) for name, color in LISTS if name not in have]


def _insert(tasks: list[Task]) -> int:
    """Insert the tasks and their tag rows (what `tag=` filters and /api/tags count)."""
    created = Task.objects.bulk_create(tasks, batch_size=BATCH_SIZE)
    tell(task_saved(task, "created") for task in created)
    TaskTag.objects.bulk_create(
        [
            TaskTag(task=task, owner_id=task.owner_id, key=tag_key(tag), name=tag)
            for task in created
            for tag in task.tags
        ],
        batch_size=BATCH_SIZE,
    )
    return len(created)


def seed_demo(
    *, users: int, tasks_per_user: int, reset: bool = False, progress: Callable[[int, int], None] | None = None
) -> SeedResult:
    """Ensure demo users 1..`users` exist, each with at least `tasks_per_user` tasks; `reset` starts over."""
    now = timezone.now()
    with transaction.atomic():
        deleted = 0
        if reset:
            demo = User.objects.filter(better_auth_id__startswith=DEMO_ID_PREFIX, email__endswith=DEMO_EMAIL_DOMAIN)
            deleted = demo.delete()[1].get(User._meta.label, 0)
        wanted = {demo_user_id(n): n for n in range(1, users + 1)}
        existing = set(User.objects.filter(better_auth_id__in=wanted).values_list("better_auth_id", flat=True))
        missing = [
            User(
                better_auth_id=ba_id,
                email=f"demo{n}@{DEMO_EMAIL_DOMAIN}",
                name=demo_name(n),
                password=make_password(None),
            )
            for ba_id, n in wanted.items()
            if ba_id not in existing
        ]
        User.objects.bulk_create(missing, batch_size=BATCH_SIZE)
        demo_users = list(User.objects.filter(better_auth_id__in=wanted).order_by("better_auth_id"))
        counts = dict(Task.objects.filter(owner__in=demo_users).values_list("owner").annotate(n=Count("id")).order_by())
        # Every new list and task is numbered in its owner's change sequence, so the sync feed carries it: one
        # claim per user for all of them, lists first.
        have = existing_lists(demo_users)
        first: dict[int, int] = {}
        for user in demo_users:
            count = len(missing_lists(have[user.pk])) + max(tasks_per_user - counts.get(user.pk, 0), 0)
            if count:
                first[user.pk] = claim_change_seq(user.pk, count) - count + 1
        lists = demo_lists([user for user in demo_users if missing_lists(have[user.pk])], first)
        lists.update({pk: named for pk, named in have.items() if pk not in lists})
        created = 0
        batch: list[Task] = []
        subtasks: list[tuple[Task, Task]] = []  # (subtask, its parent): inserted once the parents have ids
        for done, user in enumerate(demo_users, start=1):
            number, start = wanted[user.better_auth_id], counts.get(user.pk, 0)
            new = {n: demo_task(user, n, number, now, lists[user.pk]) for n in range(start, tasks_per_user)}
            skip = len(missing_lists(have[user.pk]))
            for offset, task in enumerate(new.values()):
                task.change_seq = first[user.pk] + skip + offset
            for n, task in new.items():
                if n % SUBTASK_EVERY == SUBTASK_EVERY - 1 and n - 1 in new and new[n - 1].recurrence is None:
                    subtasks.append((task, new[n - 1]))  # every fifth task is a step of the one before it
                else:
                    batch.append(task)
            if len(batch) >= BATCH_SIZE:
                created += _insert(batch)
                batch = []
            if progress:
                progress(done, len(demo_users))
        created += _insert(batch)
        for task, parent in subtasks:
            task.parent, task.task_list_id, task.recurrence = parent, parent.task_list_id, None
        created += _insert([task for task, _ in subtasks])
    return SeedResult(users=demo_users, users_created=len(missing), tasks_created=created, users_deleted=deleted)
