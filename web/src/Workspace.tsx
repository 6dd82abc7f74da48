/** The signed-in screen: lists on the left, the selected list's tasks (filtered) on the right. */
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { api, dateOf, isProblem, itemPath, unwrap, type Problem, type TagCount, type Task, type TaskList } from "./api";
import { SignedOut } from "./auth";
import { TaskEditor } from "./TaskEditor";

type Selected = "inbox" | number;
type Status = "pending" | "completed" | "all";
type Notice = { kind: "error" | "info" | "conflict"; text: string; fields?: Record<string, string> };
type ListAction = { kind: "rename" | "delete"; list: TaskList; name: string };

export function Workspace() {
  const [lists, setLists] = useState<TaskList[]>([]);
  const [tags, setTags] = useState<TagCount[]>([]);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [selected, setSelected] = useState<Selected>("inbox");
  const [status, setStatus] = useState<Status>("pending");
  const [tag, setTag] = useState("");
  const [notice, setNotice] = useState<Notice | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [newTitle, setNewTitle] = useState("");
  const [newList, setNewList] = useState("");
  const [listAction, setListAction] = useState<ListAction | null>(null);
  const [loaded, setLoaded] = useState(false);

  /** Says what went wrong: the API's message and field errors, or that it cannot be reached. */
  const report = useCallback((error: unknown) => {
    if (error instanceof SignedOut) return; // the app shows the sign-in form
    if (isProblem(error)) setNotice({ kind: "error", text: error.message, fields: error.fields });
    else setNotice({ kind: "error", text: `Cannot reach the API (${String(error)}).` });
  }, []);

  const load = useCallback(async () => {
    const query = {
      list: selected === "inbox" ? "inbox" : String(selected),
      parent: "none",
      status,
      sort: "position" as const,
      limit: 500,
      ...(tag ? { tag: [tag] } : {}),
    };
    const [listsResult, tagsResult, tasksResult] = await Promise.all([
      api.GET("/api/lists"),
      api.GET("/api/tags"),
      api.GET("/api/tasks", { params: { query } }),
    ]);
    setLists(unwrap(listsResult));
    setTags(unwrap(tagsResult));
    setTasks(unwrap(tasksResult));
    setLoaded(true);
  }, [selected, status, tag]);

  useEffect(() => {
    load().catch(report);
  }, [load, report]);

  /** Runs a write on a task; a 412 or 404 means it changed elsewhere: read again, and tell the user. */
  async function onTask(task: Task, write: () => Promise<void>) {
    setNotice(null);
    try {
      await write();
    } catch (error) {
      if (isProblem(error) && error.code === "precondition_failed") {
        await api.GET("/api/tasks/{id}", { params: { path: itemPath(task.id) } }); // records its new ETag
        setNotice({
          kind: "conflict",
          text: `“${task.title}” was changed elsewhere. It has been reloaded: check it and try again.`,
        });
      } else if (isProblem(error) && error.status === 404) {
        setNotice({ kind: "conflict", text: `“${task.title}” was deleted elsewhere.` });
      } else {
        report(error);
      }
    }
    await load().catch(report);
  }

  async function createTask(event: FormEvent) {
    event.preventDefault();
    setNotice(null);
    try {
      const body = { title: newTitle, list_id: selected === "inbox" ? null : selected };
      unwrap(await api.POST("/api/tasks", { body }));
      setNewTitle("");
      await load();
    } catch (error) {
      report(error);
    }
  }

  const complete = (task: Task) =>
    onTask(task, async () => {
      const done = unwrap(
        await api.PATCH("/api/tasks/{id}/complete", {
          params: { path: itemPath(task.id) },
          body: { completed: !task.completed },
        }),
      );
      if (done.next) {
        setNotice({ kind: "info", text: `Completed “${done.title}”. Next one due ${dateOf(done.next.due_at)}.` });
      }
    });

  /** Up: right before the task above; down: right after the task below (POST /api/tasks/{id}/move). */
  const move = (task: Task, index: number, direction: -1 | 1) =>
    onTask(task, async () => {
      const neighbour = tasks[index + direction];
      if (neighbour === undefined) return;
      const body = direction === -1 ? { before: neighbour.id } : { after: neighbour.id };
      unwrap(await api.POST("/api/tasks/{id}/move", { params: { path: itemPath(task.id) }, body }));
    });

  const remove = (task: Task) =>
    onTask(task, async () => {
      unwrap(await api.DELETE("/api/tasks/{id}", { params: { path: itemPath(task.id) } }));
    });

  async function createList(event: FormEvent) {
    event.preventDefault();
    setNotice(null);
    try {
      const list = unwrap(await api.POST("/api/lists", { body: { name: newList } }));
      setNewList("");
      setSelected(list.id);
    } catch (error) {
      report(error);
    }
  }

  /** Rename or delete: read the list first, so the ETag sent is of what the user is shown (counts included). */
  async function startListAction(kind: ListAction["kind"], id: number) {
    setNotice(null);
    try {
      const list = unwrap(await api.GET("/api/lists/{id}", { params: { path: itemPath(id) } }));
      setListAction({ kind, list, name: list.name });
    } catch (error) {
      report(error);
    }
  }

  async function finishListAction(event: FormEvent) {
    event.preventDefault();
    if (listAction === null) return;
    const { kind, list, name } = listAction;
    try {
      if (kind === "rename") {
        unwrap(await api.PATCH("/api/lists/{id}", { params: { path: itemPath(list.id) }, body: { name } }));
      } else {
        const params = { path: itemPath(list.id), query: { tasks: "move_to_inbox" as const } };
        unwrap(await api.DELETE("/api/lists/{id}", { params }));
        setSelected("inbox");
      }
      setListAction(null);
      await load();
    } catch (error) {
      if (isProblem(error) && error.code === "precondition_failed") {
        setListAction(null);
        setNotice({ kind: "conflict", text: `The list “${list.name}” changed meanwhile: look again and retry.` });
        await load().catch(report);
      } else {
        report(error);
      }
    }
  }

  const current = selected === "inbox" ? null : lists.find((list) => list.id === selected);
  const title = current?.name ?? "Inbox";

  return (
    <div className="workspace">
      <nav aria-label="Lists">
        <button type="button" aria-current={selected === "inbox"} onClick={() => setSelected("inbox")}>
          Inbox
        </button>
        {lists.map((list) => (
          <button type="button" key={list.id} aria-current={selected === list.id} onClick={() => setSelected(list.id)}>
            {list.name} <span className="count">{list.open_count}</span>
          </button>
        ))}
        <form onSubmit={(event) => void createList(event)}>
          <input aria-label="New list name" placeholder="New list" value={newList} onChange={(e) => setNewList(e.target.value)} />
          <button type="submit">Add list</button>
        </form>
      </nav>

      <main>
        <div className="title-row">
          <h2>{title}</h2>
          {current && (
            <>
              <button type="button" onClick={() => void startListAction("rename", current.id)}>
                Rename list
              </button>
              <button type="button" onClick={() => void startListAction("delete", current.id)}>
                Delete list
              </button>
            </>
          )}
        </div>

        {listAction && (
          <form className="list-action" onSubmit={(event) => void finishListAction(event)}>
            {listAction.kind === "rename" ? (
              <label>
                List name
                <input value={listAction.name} onChange={(e) => setListAction({ ...listAction, name: e.target.value })} />
              </label>
            ) : (
              <p>
                Delete “{listAction.list.name}”? Its {listAction.list.task_count} task(s) will move to the inbox.
              </p>
            )}
            <button type="submit">{listAction.kind === "rename" ? "Save name" : "Delete, moving tasks to the inbox"}</button>
            <button type="button" onClick={() => setListAction(null)}>
              Cancel
            </button>
          </form>
        )}

        {notice && (
          <div role={notice.kind === "info" ? "status" : "alert"} className={notice.kind}>
            {notice.text}
            {notice.fields &&
              Object.entries(notice.fields).map(([field, message]) => (
                <div key={field} className="field-error">
                  {field}: {message}
                </div>
              ))}
          </div>
        )}

        <div className="filters">
          <label>
            Show
            <select aria-label="Show" value={status} onChange={(e) => setStatus(e.target.value as Status)}>
              <option value="pending">open</option>
              <option value="completed">completed</option>
              <option value="all">all</option>
            </select>
          </label>
          <label>
            Tag
            <select aria-label="Tag" value={tag} onChange={(e) => setTag(e.target.value)}>
              <option value="">any</option>
              {tags.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name} ({t.count})
                </option>
              ))}
            </select>
          </label>
        </div>

        <form className="new-task" onSubmit={(event) => void createTask(event)}>
          <input aria-label="New task title" placeholder="What needs doing?" value={newTitle} onChange={(e) => setNewTitle(e.target.value)} />
          <button type="submit">Add task</button>
        </form>

        {loaded && tasks.length === 0 && <p className="empty">Nothing here.</p>}
        <ul className="tasks">
          {tasks.map((task, index) => (
            <li key={task.id} data-testid="task" data-title={task.title} className={task.completed ? "done" : ""}>
              <div className="task-row">
                <input
                  type="checkbox"
                  aria-label={`Complete ${task.title}`}
                  checked={task.completed ?? false}
                  onChange={() => void complete(task)}
                />
                <span className="task-title">{task.title}</span>
                {task.due_at && <span className="due">due {dateOf(task.due_at)}</span>}
                {task.recurrence && <span className="repeat">↻ {task.recurrence.freq}</span>}
                {(task.tags ?? []).map((t) => (
                  <span className="tag" key={t}>
                    #{t}
                  </span>
                ))}
                <span className="buttons">
                  <button type="button" aria-label={`Move ${task.title} up`} disabled={index === 0} onClick={() => void move(task, index, -1)}>
                    ↑
                  </button>
                  <button
                    type="button"
                    aria-label={`Move ${task.title} down`}
                    disabled={index === tasks.length - 1}
                    onClick={() => void move(task, index, 1)}
                  >
                    ↓
                  </button>
                  <button type="button" aria-label={`Edit ${task.title}`} onClick={() => setEditing(editing === task.id ? null : task.id)}>
                    Edit
                  </button>
                  <button type="button" aria-label={`Delete ${task.title}`} onClick={() => void remove(task)}>
                    Delete
                  </button>
                </span>
              </div>
              {task.description && <p className="description">{task.description}</p>}
              {editing === task.id && (
                <TaskEditor
                  taskId={task.id}
                  onDone={(changed) => {
                    setEditing(null);
                    if (changed) load().catch(report);
                  }}
                  onConflict={() => load().catch(report)}
                />
              )}
            </li>
          ))}
        </ul>
      </main>
    </div>
  );
}
