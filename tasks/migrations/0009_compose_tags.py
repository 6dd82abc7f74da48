"""Tags are stored composed (NFC) and keyed by their canonical caseless form (`tasks.models.tag_key`): a tag
written decomposed ("e" and U+0301 where another device sent U+00E9) was a second tag that looked the same,
which `tag=` did not find. The tasks whose tags change here (composed, and the later of two spellings that are
now one tag dropped) become a new version with a new change number, so that sync carries them; every task's
tag rows are rewritten from its tags where they differ. Only tags with a character outside ASCII can change
(ASCII is composed already, and case-folds as before)."""

import unicodedata

from django.db import migrations
from django.db.models import F
from django.utils import timezone

CHUNK = 500


def tag_key(tag):
    """`tasks.models.tag_key` as of this migration."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", tag).casefold())


def composed(tags):
    """The tags composed, unique by key, the first spelling kept (what `clean_tags` keeps)."""
    kept, seen = [], set()
    for tag in tags:
        tag = unicodedata.normalize("NFC", tag)
        if tag_key(tag) not in seen:
            seen.add(tag_key(tag))
            kept.append(tag)
    return kept


def compose_tags(apps, schema_editor):
    Task = apps.get_model("tasks", "Task")
    TaskTag = apps.get_model("tasks", "TaskTag")
    SyncState = apps.get_model("tasks", "SyncState")
    candidates = [
        pk
        for pk, tags in Task.objects.exclude(tags=[]).values_list("pk", "tags").iterator(chunk_size=2000)
        if isinstance(tags, list) and not all(isinstance(tag, str) and tag.isascii() for tag in tags)
    ]
    now = timezone.now()
    for start in range(0, len(candidates), CHUNK):
        for task in Task.objects.filter(pk__in=candidates[start : start + CHUNK]).only("pk", "owner_id", "tags"):
            tags = composed(tag for tag in task.tags if isinstance(tag, str))
            if tags != task.tags:
                # As `tasks.sync.claim_change_seq` takes a number (its counter made on its first change).
                if not SyncState.objects.filter(owner_id=task.owner_id).update(seq=F("seq") + 1):
                    SyncState.objects.create(owner_id=task.owner_id, seq=1)
                seq = SyncState.objects.get(owner_id=task.owner_id).seq
                Task.objects.filter(pk=task.pk).update(
                    tags=tags, version=F("version") + 1, change_seq=seq, updated_at=now
                )
            rows = {(tag_key(tag), tag) for tag in tags}
            if set(TaskTag.objects.filter(task_id=task.pk).values_list("key", "name")) != rows:
                TaskTag.objects.filter(task_id=task.pk).delete()
                TaskTag.objects.bulk_create(
                    TaskTag(task_id=task.pk, owner_id=task.owner_id, key=key, name=name) for key, name in rows
                )


class Migration(migrations.Migration):
    dependencies = [("tasks", "0008_task_owner_without_lone_index")]

    operations = [migrations.RunPython(compose_tags, migrations.RunPython.noop)]
