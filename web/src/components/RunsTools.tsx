// The runs table's tools: the filter box (the grammar of `runyard ls -f`, key suggestions,
// the server's error inline), the chosen param/metric columns (remembered per experiment),
// bulk delete and tag of the selected runs, and the CSV of what is shown.

import { useEffect, useState } from "react";
import { ApiError, qs } from "../api/client";
import { bulk, refusals, useDeleteRuns } from "../api/edits";
import type { Run } from "../api/types";
import { useQueryClient } from "@tanstack/react-query";
import { Confirm } from "./Confirm";

const STORE_KEY = "runyard.columns.";

/** The chosen columns of an experiment (or of all runs), kept in localStorage. */
export function useColumns(experiment: string): [string[], (cols: string[]) => void] {
  const key = STORE_KEY + (experiment || "*");
  const read = (): string[] => {
    try {
      const v = JSON.parse(localStorage.getItem(key) ?? "[]") as unknown;
      return Array.isArray(v) ? v.filter((c): c is string => typeof c === "string") : [];
    } catch {
      return [];
    }
  };
  const [cols, setCols] = useState<string[]>(read);
  useEffect(() => setCols(read()), [key]); // another experiment: its own columns
  const save = (next: string[]) => {
    setCols(next);
    localStorage.setItem(key, JSON.stringify(next));
  };
  return [cols, save];
}

/** params.* and metrics.* keys of the loaded runs, for suggestions and the column picker. */
export function keysOf(runs: Run[]): string[] {
  const keys = new Set<string>();
  for (const r of runs.slice(0, 2000)) {
    for (const k of Object.keys(r.params)) keys.add(`params.${k}`);
    for (const k of Object.keys(r.metrics)) keys.add(`metrics.${k}`);
  }
  return [...keys].sort();
}

export function FilterBox({
  value,
  onApply,
  keys,
  error,
}: {
  value: string;
  onApply: (filter: string) => void;
  keys: string[];
  error: unknown;
}) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const message = error instanceof ApiError && error.status === 400 ? error.message : null;
  return (
    <form
      className="field grow filter-box"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft.trim());
      }}
    >
      <label className="sr-only" htmlFor="run-filter">
        Filter runs
      </label>
      <input
        id="run-filter"
        data-testid="run-filter"
        list="run-filter-keys"
        placeholder='Filter: metrics.val/loss < 0.3 and params.opt = "adam" (Enter)'
        value={draft}
        aria-invalid={message ? true : undefined}
        aria-describedby={message ? "run-filter-error" : undefined}
        onChange={(e) => setDraft(e.target.value)}
      />
      <datalist id="run-filter-keys">
        {keys.map((k) => (
          <option key={k} value={draft && !draft.endsWith(" ") && draft.includes(" ") ? `${draft.slice(0, draft.lastIndexOf(" ") + 1)}${k}` : k} />
        ))}
      </datalist>
      {message ? (
        <p id="run-filter-error" className="error-inline" role="alert" data-testid="filter-error">
          {message}
        </p>
      ) : null}
    </form>
  );
}

export function ColumnPicker({
  keys,
  columns,
  onChange,
}: {
  keys: string[];
  columns: string[];
  onChange: (cols: string[]) => void;
}) {
  const free = keys.filter((k) => !columns.includes(k));
  return (
    <label className="field">
      <span className="sr-only">Add a column</span>
      <select
        value=""
        data-testid="add-column"
        onChange={(e) => e.target.value && onChange([...columns, e.target.value])}
        disabled={free.length === 0}
      >
        <option value="">+ Column</option>
        {free.map((k) => (
          <option key={k} value={k}>
            {k}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A chosen column's header: sort (on the server), move left/right, remove. */
export function ColumnHeader({
  col,
  sort,
  desc,
  onSort,
  onMove,
  onRemove,
}: {
  col: string;
  sort: string;
  desc: boolean;
  onSort: () => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}) {
  return (
    <div
      role="columnheader"
      className="cell c-extra"
      data-col={col}
      aria-sort={sort === col ? (desc ? "descending" : "ascending") : "none"}
    >
      <button type="button" className="sort" onClick={onSort} title={`Sort by ${col}`}>
        {col.replace(/^(params|metrics)\./, "")}
        <span aria-hidden="true" className="sort-arrow">
          {sort === col ? (desc ? "▼" : "▲") : "↕"}
        </span>
      </button>
      <span className="col-tools">
        <button type="button" className="chip-x" aria-label={`Move ${col} left`} onClick={() => onMove(-1)}>
          ‹
        </button>
        <button type="button" className="chip-x" aria-label={`Move ${col} right`} onClick={() => onMove(1)}>
          ›
        </button>
        <button type="button" className="chip-x" aria-label={`Remove column ${col}`} onClick={onRemove}>
          ×
        </button>
      </span>
    </div>
  );
}

export function csvHref(filters: Record<string, string | undefined>, columns: string[]): string {
  const base = ["id", "name", "experiment", "status", "created_at", "ended_at", "tags", "best"];
  return `/api/runs.csv${qs({ ...filters, columns: [...base, ...columns].join(",") })}`;
}

export function BulkActions({
  selected,
  onDone,
}: {
  selected: string[];
  onDone: () => void;
}) {
  const del = useDeleteRuns();
  const qc = useQueryClient();
  const [confirm, setConfirm] = useState(false);
  const [tag, setTag] = useState("");
  const [tagError, setTagError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  if (selected.length === 0 && !note) return null;
  const addTag = async () => {
    const t = tag.trim();
    if (!t) return;
    setTagError(null);
    setNote(null);
    try {
      const result = await bulk(selected, "tag", t);
      setTag("");
      setTagError(refusals(result));
      setNote(`tagged ${result.done.length.toLocaleString()} run${result.done.length === 1 ? "" : "s"} “${t}”`);
    } catch (e) {
      setTagError(e instanceof ApiError ? e.message : String(e));
    }
    void qc.invalidateQueries({ queryKey: ["runs"] });
  };
  return (
    <div className="row gap wrap bulk" data-testid="bulk">
      {selected.length ? (
        <form
          className="row gap"
          onSubmit={(e) => {
            e.preventDefault();
            void addTag();
          }}
        >
          <input
            className="input input-small"
            aria-label="Tag the selected runs"
            placeholder="tag selected…"
            data-testid="bulk-tag"
            value={tag}
            onChange={(e) => setTag(e.target.value)}
          />
        </form>
      ) : null}
      {selected.length ? (
        <button type="button" className="btn btn-danger-ghost" data-testid="bulk-delete" onClick={() => setConfirm(true)}>
          Delete {selected.length.toLocaleString()}…
        </button>
      ) : null}
      {tagError ? (
        <p className="error-inline" role="alert">
          {tagError}
        </p>
      ) : null}
      {note ? (
        <p className="muted small" role="status" data-testid="bulk-note">
          {note}
        </p>
      ) : null}
      <Confirm
        open={confirm}
        title={`Delete ${selected.length} run${selected.length === 1 ? "" : "s"}?`}
        body="They leave every list and their folders move to the trash; `runyard restore` brings them back until `runyard gc` empties it. Runs still queued or running are refused."
        busy={del.isPending}
        error={del.error instanceof ApiError ? del.error.message : del.error ? String(del.error) : null}
        onCancel={() => setConfirm(false)}
        onConfirm={() =>
          del.mutate(selected, {
            onSuccess: (result) => {
              setConfirm(false);
              const refused = refusals(result);
              setTagError(refused);
              setNote(`deleted ${result.done.length.toLocaleString()} run${result.done.length === 1 ? "" : "s"}`);
              onDone();
            },
          })
        }
      />
    </div>
  );
}
