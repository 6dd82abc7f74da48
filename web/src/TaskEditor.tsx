/**
 * Edit one task: read it fresh (so the client holds its current ETag), PATCH only what the user changed.
 *
 * A 412 `precondition_failed` means someone changed the task since it was read (another tab, device or user
 * action): the editor reads it again, says what it is now, and keeps the user's edits in the form, so a second
 * Save applies them over the new version (now with its ETag).
 */
import { useEffect, useState, type FormEvent } from "react";

import { api, dateOf, dueFromDate, isProblem, itemPath, problemOf, unwrap, type Problem, type Task } from "./api";

type Repeat = "none" | "daily" | "weekly" | "other";

interface Draft {
  title: string;
  description: string;
  due: string;
  repeat: Repeat;
  tags: string;
}

function draftOf(task: Task): Draft {
  const freq = task.recurrence?.freq;
  return {
    title: task.title,
    description: task.description ?? "",
    due: dateOf(task.due_at),
    repeat: freq === undefined ? "none" : freq === "daily" || freq === "weekly" ? freq : "other",
    tags: (task.tags ?? []).join(", "),
  };
}

function tagsOf(text: string): string[] {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/** The fields of the draft the user changed since `base` was read. */
function edited(base: Draft, draft: Draft): Partial<Draft> {
  const mine: Partial<Draft> = {};
  for (const key of Object.keys(draft) as (keyof Draft)[]) {
    if (draft[key] !== base[key]) Object.assign(mine, { [key]: draft[key] });
  }
  return mine;
}

/** The PATCH body: the fields of the draft that differ from the task as last read. */
function changes(base: Draft, draft: Draft): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (draft.title !== base.title) body.title = draft.title;
  if (draft.description !== base.description) body.description = draft.description;
  if (draft.due !== base.due) body.due_at = draft.due ? dueFromDate(draft.due) : null;
  if (draft.repeat !== base.repeat && draft.repeat !== "other") {
    body.recurrence = draft.repeat === "none" ? null : { freq: draft.repeat, interval: 1 };
  }
  if (tagsOf(draft.tags).join("\n") !== tagsOf(base.tags).join("\n")) body.tags = tagsOf(draft.tags);
  return body;
}

export interface TaskEditorProps {
  taskId: number;
  /** The editor closed; `changed`: the task was written (or found changed), so show it again. */
  onDone: (changed: boolean) => void;
  /** The task was found changed elsewhere: show its new version in the list (the editor stays open). */
  onConflict: () => void;
}

export function TaskEditor({ taskId, onDone, onConflict }: TaskEditorProps) {
  const [base, setBase] = useState<Draft | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [conflict, setConflict] = useState<Task | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    api
      .GET("/api/tasks/{id}", { params: { path: itemPath(taskId) } })
      .then((result) => {
        const task = unwrap(result);
        if (live) {
          setBase(draftOf(task));
          setDraft(draftOf(task));
        }
      })
      .catch((error: unknown) => live && setProblem(isProblem(error) ? error : problemOf(0, null)));
    return () => {
      live = false;
    };
  }, [taskId]);

  if (draft === null || base === null) {
    return problem ? (
      <p role="alert" className="error">
        {problem.message}
      </p>
    ) : (
      <p className="loading">Loading the task…</p>
    );
  }

  const set = (field: keyof Draft) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [field]: event.target.value });

  async function save(event: FormEvent) {
    event.preventDefault();
    if (draft === null || base === null) return;
    const body = changes(base, draft);
    if (Object.keys(body).length === 0) return onDone(false);
    setBusy(true);
    setProblem(null);
    try {
      unwrap(await api.PATCH("/api/tasks/{id}", { params: { path: itemPath(taskId) }, body }));
      onDone(true);
    } catch (error) {
      if (!isProblem(error)) throw error;
      if (error.code === "precondition_failed") {
        // Read it again: the client records its new ETag, and the user sees what changed before re-applying.
        const current = unwrap(await api.GET("/api/tasks/{id}", { params: { path: itemPath(taskId) } }));
        setConflict(current);
        // The new version, with the user's own edits on top: saving again sends only those, so whatever the
        // other tab changed in the other fields stays.
        const fresh = draftOf(current);
        setBase(fresh);
        setDraft({ ...fresh, ...edited(base, draft) });
        onConflict();
      } else {
        setProblem(error);
      }
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (name: string) =>
    problem?.fields[name] ? <span className="field-error">{problem.fields[name]}</span> : null;

  return (
    <form className="editor" onSubmit={(event) => void save(event)} aria-label="Edit task">
      {conflict && (
        <div role="alert" className="conflict">
          <strong>This task was changed elsewhere</strong> while you edited it. It now reads “{conflict.title}”
          {conflict.due_at ? `, due ${dateOf(conflict.due_at)}` : ""}
          {conflict.completed ? ", completed" : ""}. Your edits are still below: Save to apply them to this version,
          or Cancel to keep it.
        </div>
      )}
      {problem && (
        <p role="alert" className="error">
          {problem.message}
        </p>
      )}
      <label>
        Title
        <input value={draft.title} onChange={set("title")} />
        {fieldError("title")}
      </label>
      <label>
        Description
        <textarea value={draft.description} onChange={set("description")} rows={2} />
        {fieldError("description")}
      </label>
      <div className="row">
        <label>
          Due date
          <input type="date" value={draft.due} onChange={set("due")} />
          {fieldError("due_at")}
        </label>
        <label>
          Repeat
          <select aria-label="Repeat" value={draft.repeat} onChange={set("repeat")}>
            <option value="none">never</option>
            <option value="daily">daily</option>
            <option value="weekly">weekly</option>
            {base.repeat === "other" && <option value="other">as set elsewhere</option>}
          </select>
          {fieldError("recurrence")}
        </label>
        <label>
          Tags
          <input value={draft.tags} onChange={set("tags")} placeholder="work, home" />
          {fieldError("tags")}
        </label>
      </div>
      <div className="actions">
        <button type="submit" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={() => onDone(conflict !== null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
