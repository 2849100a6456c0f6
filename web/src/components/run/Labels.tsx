// What a person writes about a run, edited in place: its name, tags and notes (Markdown,
// shown rendered). And deleting it: to the trash, only once it has ended.

import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError } from "../../api/client";
import { useDeleteRuns, useUpdateRun } from "../../api/edits";
import type { Run } from "../../api/types";
import { isTerminal } from "../../lib/format";
import { Markdown } from "../../lib/markdown";
import { Confirm } from "../Confirm";
import { Panel } from "../States";

function message(error: unknown): string | null {
  if (!error) return null;
  return error instanceof ApiError ? error.message : String(error);
}

export function EditableName({ run }: { run: Run }) {
  const update = useUpdateRun(run.id);
  const [draft, setDraft] = useState<string | null>(null);
  const save = () => {
    if (draft === null) return;
    const name = draft.trim();
    if (!name || name === run.name) return setDraft(null);
    update.mutate({ name }, { onSuccess: () => setDraft(null) });
  };
  if (draft === null)
    return (
      <div className="row gap">
        <h1 className="run-title">{run.name}</h1>
        <button
          type="button"
          className="btn btn-small btn-ghost"
          data-testid="edit-name"
          aria-label="Rename the run"
          onClick={() => setDraft(run.name)}
        >
          Rename
        </button>
      </div>
    );
  return (
    <form
      className="row gap inline-edit"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <input
        className="input"
        aria-label="Run name"
        data-testid="name-input"
        value={draft}
        maxLength={250}
        autoFocus
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && setDraft(null)}
      />
      <button type="submit" className="btn btn-small" disabled={update.isPending}>
        Save
      </button>
      <button type="button" className="btn btn-small btn-ghost" onClick={() => setDraft(null)}>
        Cancel
      </button>
      {update.error ? (
        <p className="error-inline" role="alert">
          {message(update.error)}
        </p>
      ) : null}
    </form>
  );
}

export function TagEditor({ run }: { run: Run }) {
  const update = useUpdateRun(run.id);
  const [draft, setDraft] = useState("");
  const add = () => {
    const tag = draft.trim();
    if (!tag || run.tags.includes(tag)) return setDraft("");
    update.mutate({ tags: [...run.tags, tag] }, { onSuccess: () => setDraft("") });
  };
  return (
    <div className="row gap wrap tag-editor" data-testid="tags">
      {run.tags.map((t) => (
        <span key={t} className="chip">
          <Link to={`/runs?tag=${encodeURIComponent(t)}`}>{t}</Link>
          <button
            type="button"
            className="chip-x"
            aria-label={`Remove tag ${t}`}
            onClick={() => update.mutate({ tags: run.tags.filter((x) => x !== t) })}
          >
            ×
          </button>
        </span>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          add();
        }}
      >
        <input
          className="input input-small"
          aria-label="Add a tag"
          placeholder="+ tag"
          data-testid="tag-input"
          value={draft}
          maxLength={250}
          onChange={(e) => setDraft(e.target.value)}
        />
      </form>
      {update.error ? (
        <p className="error-inline" role="alert">
          {message(update.error)}
        </p>
      ) : null}
    </div>
  );
}

export function NotesPanel({ run }: { run: Run }) {
  const update = useUpdateRun(run.id);
  const [draft, setDraft] = useState<string | null>(null);
  const actions =
    draft === null ? (
      <button
        type="button"
        className="btn btn-small"
        data-testid="edit-notes"
        onClick={() => setDraft(run.notes)}
      >
        {run.notes ? "Edit" : "Add notes"}
      </button>
    ) : null;
  return (
    <Panel title="Notes" id="notes" actions={actions}>
      {draft === null ? (
        run.notes ? (
          <div data-testid="notes">
            <Markdown text={run.notes} />
          </div>
        ) : (
          <p className="muted">No notes yet. Notes take Markdown.</p>
        )
      ) : (
        <form
          className="notes-form"
          onSubmit={(e) => {
            e.preventDefault();
            update.mutate({ notes: draft }, { onSuccess: () => setDraft(null) });
          }}
        >
          <textarea
            className="input notes-input"
            aria-label="Notes (Markdown)"
            data-testid="notes-input"
            rows={8}
            value={draft}
            maxLength={100_000}
            autoFocus
            onChange={(e) => setDraft(e.target.value)}
          />
          <div className="row gap">
            <button type="submit" className="btn btn-small" disabled={update.isPending}>
              Save
            </button>
            <button type="button" className="btn btn-small btn-ghost" onClick={() => setDraft(null)}>
              Cancel
            </button>
          </div>
          {update.error ? (
            <p className="error-inline" role="alert" data-testid="notes-error">
              {message(update.error)}
            </p>
          ) : null}
        </form>
      )}
    </Panel>
  );
}

export function DeleteRunButton({ run }: { run: Run }) {
  const del = useDeleteRuns();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const ended = isTerminal(run.status);
  return (
    <>
      <button
        type="button"
        className="btn btn-danger-ghost"
        data-testid="delete-run"
        disabled={!ended}
        title={ended ? "Move this run to the trash" : `This run is ${run.status}: cancel it first`}
        onClick={() => setOpen(true)}
      >
        Delete…
      </button>
      <Confirm
        open={open}
        title={`Delete ${run.name}?`}
        body="The run leaves every list and its folder moves to the trash. `runyard restore` brings it back until `runyard gc` empties the trash."
        busy={del.isPending}
        error={message(del.error)}
        onCancel={() => setOpen(false)}
        onConfirm={() =>
          del.mutate([run.id], {
            onSuccess: () => {
              setOpen(false);
              void navigate(`/runs?experiment=${encodeURIComponent(run.experiment)}`);
            },
          })
        }
      />
    </>
  );
}
