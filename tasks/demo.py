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

from authn.models import User
from tasks.models import Task
from tasks.sync import claim_change_seq

DEMO_ID_PREFIX = "demo"
DEMO_EMAIL_DOMAIN = "demo.evotodo.test"
BATCH_SIZE = 2000

FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Dennis"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen", "Ritchie"]
TASKS = [
    ("Buy groceries", "Milk, eggs, spinach and coffee beans."),
    ("Book dentist appointment", "Ask for an early morning slot."),
    ("Renew passport", "Photos are in the desk drawer; the form is online."),
    ("Call mom", ""),
    ("Pay electricity bill", "Due at the end of the month."),
    ("Prepare slides for Monday's review", "Cover last quarter's numbers and the roadmap."),
    ("Fix the leaking kitchen tap", "Buy a new washer first."),
    ("Water the plants", ""),
    ("Read 'Designing Data-Intensive Applications'", "Chapter 5: replication."),
    ("Plan the weekend hike", "Check the weather and the train times."),
    ("Reply to Sam about the offsite", ""),
    ("Clean out the garage", "Donate the old bike."),
    ("Update CV", "Add the last two projects."),
    ("Go for a 5 km run", ""),
    ("Back up the laptop", "External drive is in the bag."),
    ("Cancel unused streaming subscription", ""),
    ("Write thank-you note to Alex", "For the birthday present."),
    ("Schedule car service", "It's making that noise again."),
    ("File the expense report", "Receipts from the conference trip."),
    ("Learn three new Spanish verbs", ""),
]


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


def demo_task(owner: User, n: int, user_number: int, now: datetime) -> Task:
    """Task n of a demo user: the same title, state and age every time."""
    rng = random.Random(f"{user_number}:{n}")  # noqa: S311 (demo data, not security)
    title, description = TASKS[rng.randrange(len(TASKS))]
    created = now - timedelta(days=rng.randrange(90), minutes=rng.randrange(24 * 60))
    completed = rng.random() < 0.4
    done_at = min(created + timedelta(days=rng.randrange(1, 10)), now) if completed else None
    return Task(
        owner=owner, title=title, description=description, completed=completed, completed_at=done_at, created_at=created
    )


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
        created = 0
        batch: list[Task] = []
        for done, user in enumerate(demo_users, start=1):
            number = wanted[user.better_auth_id]
            new = [demo_task(user, n, number, now) for n in range(counts.get(user.pk, 0), tasks_per_user)]
            if new:  # numbered in the user's change sequence, so the sync feed carries them
                last = claim_change_seq(user.pk, len(new))
                for offset, task in enumerate(new):
                    task.change_seq = last - len(new) + 1 + offset
            batch += new
            if len(batch) >= BATCH_SIZE:
                created += len(Task.objects.bulk_create(batch, batch_size=BATCH_SIZE))
                batch = []
            if progress:
                progress(done, len(demo_users))
        created += len(Task.objects.bulk_create(batch, batch_size=BATCH_SIZE))
    return SeedResult(users=demo_users, users_created=len(missing), tasks_created=created, users_deleted=deleted)
