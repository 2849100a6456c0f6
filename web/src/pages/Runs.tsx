// All runs: a virtualised table fed page by page through the API's cursor. Sorts the server
// can do (name, status, created) go to the server; the others sort what is loaded, after
// loading every page. Select runs, then Compare.

import { useVirtualizer } from "@tanstack/react-virtual";
import { type CSSProperties, useEffect, useMemo, useRef, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { type RunFilters, useExperiments, useRunPages } from "../api/hooks";
import type { Run } from "../api/types";
import { RunRow } from "../components/RunRow";
import {
  BulkActions,
  ColumnHeader,
  ColumnPicker,
  FilterBox,
  csvHref,
  keysOf,
  useColumns,
} from "../components/RunsTools";
import { ApiError } from "../api/client";
import { Empty, ErrorState, Loading } from "../components/States";
import { bestOf, runDuration, runPercent } from "../lib/format";
import { useMediaQuery, useNow } from "../lib/hooks";

type SortKey = "created" | "name" | "experiment" | "status" | "progress" | "attempts" | "duration" | "best";
const SERVER_SORT: Partial<Record<SortKey, string>> = {
  created: "created_at",
  name: "name",
  status: "status",
};
const MAX_COMPARE = 10;

const STATUS_FILTERS: { value: string; label: string }[] = [
  { value: "", label: "Any status" },
  { value: "starting,running", label: "Active" },
  { value: "queued,retrying", label: "Queued" },
  { value: "completed", label: "Completed" },
  { value: "failed", label: "Failed" },
  { value: "cancelled", label: "Cancelled" },
  { value: "pruned", label: "Pruned" },
];

function clientValue(run: Run, key: SortKey, now: number): number | string | null {
  switch (key) {
    case "experiment":
      return run.experiment;
    case "progress":
      return runPercent(run);
    case "attempts":
      return run.attempt_count;
    case "duration":
      return runDuration(run, now);
    case "best": {
      const b = bestOf(run);
      return b === null || Number.isNaN(b) ? null : b;
    }
    default:
      return null;
  }
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function RunsPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const sort = (params.get("sort") as SortKey) || "created";
  const filter = params.get("filter") ?? "";
  const desc = params.get("dir") ? params.get("dir") === "desc" : sort === "created";
  const [text, setText] = useState(params.get("q") ?? "");
  const q = useDebounced(text, 250);
  const status = params.get("status") ?? "";
  const experiment = params.get("experiment") ?? "";
  const tag = params.get("tag") ?? "";
  const [selected, setSelected] = useState<string[]>([]);
  const now = useNow(5000);
  const phone = useMediaQuery("(max-width: 720px)");

  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next, { replace: true });
  };
  useEffect(() => {
    // The debounced search goes into the URL (only `q` is read: other params stay as they are).
    if ((params.get("q") ?? "") !== q) set({ q: q || null });
  }, [q]); // not on params: typing must not fight a URL change made elsewhere

  const [columns, setColumns] = useColumns(experiment);
  const chosenSort = /^(params|metrics)\./.test(sort) ? sort : undefined; // a chosen column
  const serverSort = SERVER_SORT[sort] ?? chosenSort;
  const filters: RunFilters = {
    filter: filter || undefined,
    q: q || undefined,
    status: status || undefined,
    experiment: experiment || undefined,
    tag: tag || undefined,
    order_by: serverSort ? `${desc ? "-" : ""}${serverSort}` : undefined,
  };
  const pages = useRunPages(filters);
  const experiments = useExperiments();

  const loaded = useMemo(() => pages.data?.pages.flatMap((p) => p.runs) ?? [], [pages.data]);
  const needAll = !serverSort;
  useEffect(() => {
    if (needAll && pages.hasNextPage && !pages.isFetchingNextPage && !pages.isError) {
      void pages.fetchNextPage();
    }
  }, [needAll, pages.hasNextPage, pages.isFetchingNextPage, pages.isError, pages]);

  const rows = useMemo(() => {
    if (serverSort) return loaded;
    const out = loaded.slice();
    out.sort((a, b) => {
      const va = clientValue(a, sort, now);
      const vb = clientValue(b, sort, now);
      if (va === null && vb === null) return 0;
      if (va === null) return 1; // missing values last, whichever the direction
      if (vb === null) return -1;
      const c = typeof va === "string" ? va.localeCompare(String(vb)) : va - (vb as number);
      return desc ? -c : c;
    });
    return out;
  }, [loaded, serverSort, sort, desc, now]);

  useEffect(() => {
    if (pages.isSuccess) {
      performance.mark("runs-interactive");
    }
  }, [pages.isSuccess]);

  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => (phone ? 132 : 48),
    overscan: 12,
    getItemKey: (i) => rows[i]?.id ?? i,
  });
  useEffect(() => {
    virtual.measure();
  }, [phone, virtual]);
  const items = virtual.getVirtualItems();
  const lastIndex = items.length ? items[items.length - 1]!.index : 0;
  useEffect(() => {
    if (lastIndex >= rows.length - 40 && pages.hasNextPage && !pages.isFetchingNextPage) {
      void pages.fetchNextPage();
    }
  }, [lastIndex, rows.length, pages]);

  const keys = useMemo(() => keysOf(loaded), [loaded]);
  const badFilter = pages.error instanceof ApiError && pages.error.status === 400 && filter;
  const moveColumn = (col: string, by: -1 | 1) => {
    const i = columns.indexOf(col);
    const j = i + by;
    if (j < 0 || j >= columns.length) return;
    const next = columns.slice();
    [next[i], next[j]] = [next[j]!, next[i]!];
    setColumns(next);
  };
  const toggle = (id: string) =>
    setSelected((s) =>
      s.includes(id) ? s.filter((x) => x !== id) : [...s, id],
    );
  const sortBy = (key: SortKey | string) => {
    if (key === sort) set({ sort: key, dir: desc ? "asc" : "desc" });
    else set({ sort: key, dir: key === "created" || key === "progress" ? "desc" : "asc" });
  };

  const complete = loaded.filter((r) => runPercent(r) >= 100).length;
  const early = loaded.filter((r) => r.early_stopped).length;
  const overall = loaded.length
    ? loaded.reduce((n, r) => n + runPercent(r), 0) / loaded.length
    : 0;
  const filtered = Boolean(q || status || experiment || tag || filter);

  const header = (key: SortKey, label: string, className = "") => (
    <div
      role="columnheader"
      className={`cell ${className}`}
      aria-sort={sort === key ? (desc ? "descending" : "ascending") : "none"}
    >
      <button type="button" className="sort" onClick={() => sortBy(key)}>
        {label}
        <span aria-hidden="true" className="sort-arrow">
          {sort === key ? (desc ? "▼" : "▲") : "↕"}
        </span>
      </button>
    </div>
  );

  return (
    <div className="page page-runs">
      <div className="page-head">
        <div>
          <h1>Runs</h1>
          <p className="muted" data-testid="overall-progress">
            {pages.isSuccess ? (
              <>
                {loaded.length.toLocaleString()}
                {pages.hasNextPage ? "+" : ""} run{loaded.length === 1 ? "" : "s"}
                {" · "}overall progress <strong>{Math.round(overall)}%</strong> · {complete} complete
                {early ? ` (${early} early-stopped)` : ""}
              </>
            ) : (
              " "
            )}
          </p>
        </div>
        <div className="row gap wrap">
          <span className="muted small" aria-live="polite">
            {selected.length
              ? `${selected.length.toLocaleString()} selected`
              : "Select runs to compare (2–10), tag or delete"}
          </span>
          {rows.length > selected.length ? (
            <button
              type="button"
              className="btn btn-ghost"
              data-testid="select-all"
              onClick={() => setSelected(rows.map((r) => r.id))}
            >
              Select all {rows.length.toLocaleString()}
              {pages.hasNextPage ? " loaded" : ""}
            </button>
          ) : null}
          {selected.length ? (
            <button type="button" className="btn btn-ghost" onClick={() => setSelected([])}>
              Clear
            </button>
          ) : null}
          <BulkActions selected={selected} onDone={() => setSelected([])} />
          <a
            className="btn btn-ghost"
            data-testid="download-csv"
            href={csvHref({ ...filters }, columns)}
            download="runs.csv"
          >
            Download CSV
          </a>
          <a className="btn btn-ghost" href="/api/export" download="runyard-export.json">
            Export
          </a>
          <button
            type="button"
            className="btn btn-primary"
            disabled={selected.length < 2 || selected.length > MAX_COMPARE}
            title={selected.length > MAX_COMPARE ? `Compare takes at most ${MAX_COMPARE} runs` : undefined}
            onClick={() => navigate(`/compare?runs=${selected.join(",")}`)}
          >
            Compare{selected.length >= 2 ? ` ${selected.length}` : ""}
          </button>
        </div>
      </div>

      <div className="toolbar" role="search">
        <label className="field grow">
          <span className="sr-only">Search runs by name</span>
          <input
            type="search"
            placeholder="Search by name…"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </label>
        <label className="field">
          <span className="sr-only">Status</span>
          <select value={status} onChange={(e) => set({ status: e.target.value || null })}>
            {STATUS_FILTERS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="sr-only">Experiment</span>
          <select value={experiment} onChange={(e) => set({ experiment: e.target.value || null })}>
            <option value="">All experiments</option>
            {(experiments.data ?? []).map((x) => (
              <option key={x.id} value={x.name}>
                {x.name} ({x.run_count})
              </option>
            ))}
          </select>
        </label>
        <ColumnPicker keys={keys} columns={columns} onChange={setColumns} />
        <FilterBox
          value={filter}
          keys={keys}
          error={badFilter ? pages.error : null}
          onApply={(f) => set({ filter: f || null })}
        />
        {tag ? (
          <button type="button" className="chip chip-on" onClick={() => set({ tag: null })}>
            tag: {tag} <span aria-hidden="true">✕</span>
            <span className="sr-only">(remove tag filter)</span>
          </button>
        ) : null}
      </div>

      {needAll && pages.hasNextPage ? (
        <p className="notice" role="status">
          Loading every run to sort by {sort}… {loaded.length.toLocaleString()} so far
        </p>
      ) : null}

      {pages.isPending ? (
        <Loading label="Loading runs…" rows={6} />
      ) : badFilter ? (
        <Empty title="This filter does not parse" icon="⌕">
          <p>Fix it above: the message points at the place.</p>
        </Empty>
      ) : pages.data === undefined && pages.isError ? (
        <ErrorState error={pages.error} what="Runs" retry={() => void pages.refetch()} />
      ) : rows.length === 0 ? (
        filtered ? (
          <Empty title="No runs match these filters" icon="⌕">
            <button
              type="button"
              className="btn"
              onClick={() => {
                setText("");
                setParams(new URLSearchParams(), { replace: true });
              }}
            >
              Clear filters
            </button>
          </Empty>
        ) : (
          <Empty title="No runs yet" icon="▶">
            <p>
              Submit a job with <code>runyard submit -- python train.py</code>, or track a script
              with <code>runyard.init()</code>.
            </p>
          </Empty>
        )
      ) : (
        <div
          className="vtable"
          role="table"
          aria-label="Runs"
          aria-rowcount={rows.length + 1}
          style={{ "--extra-cols": columns.map(() => "minmax(96px, 1fr)").join(" ") } as CSSProperties}
        >
          <div className="vrow vhead" role="row">
            <div role="columnheader" className="cell c-check">
              <span className="sr-only">Select</span>
            </div>
            {header("name", "Name", "c-name")}
            {header("experiment", "Experiment", "c-exp")}
            {header("status", "Status", "c-status")}
            {header("progress", "Progress", "c-progress")}
            {header("attempts", "Attempts", "c-num")}
            {header("duration", "Duration", "c-num")}
            {header("best", "Best", "c-best")}
            <div role="columnheader" className="cell c-tags">
              Tags
            </div>
            {header("created", "Created", "c-created")}
            {columns.map((col) => (
              <ColumnHeader
                key={col}
                col={col}
                sort={sort}
                desc={desc}
                onSort={() => sortBy(col)}
                onMove={(by) => moveColumn(col, by)}
                onRemove={() => setColumns(columns.filter((c) => c !== col))}
              />
            ))}
          </div>
          <div ref={scroller} className="vbody" role="rowgroup" data-testid="runs-scroller">
            <div style={{ height: virtual.getTotalSize(), position: "relative" }}>
              {items.map((item) => {
                const run = rows[item.index]!;
                return (
                  <RunRow
                    key={item.key}
                    run={run}
                    index={item.index}
                    now={now}
                    checked={selected.includes(run.id)}
                    disabled={false}
                    onToggle={() => toggle(run.id)}
                    onTag={(t) => set({ tag: t })}
                    measure={virtual.measureElement}
                    top={item.start}
                    extra={columns}
                  />
                );
              })}
            </div>
          </div>
          {pages.isFetchingNextPage ? (
            <p className="muted small center" role="status">
              Loading more runs…
            </p>
          ) : null}
        </div>
      )}
    </div>
  );
}
