// One EventSource for the whole app: `/api/events` patches or invalidates the TanStack Query
// caches, so that every page stays live without reloading. When the stream is unavailable
// (server down, or a server without it) queries fall back to polling (see queryClient.ts).

import { type InfiniteData, notifyManager, type QueryClient } from "@tanstack/react-query";
import { useSyncExternalStore } from "react";
import { isTerminal } from "../lib/format";
import type { LiveEvent, Queue, Run, RunList } from "./types";

/** live: events stream in; polling: the server answers but has no stream; offline: no answer. */
export type LiveState = "connecting" | "live" | "polling" | "offline";

let state: LiveState = "connecting";
const listeners = new Set<() => void>();

function setState(next: LiveState): void {
  if (next === state) return;
  state = next;
  for (const fn of listeners) fn();
}

export function liveState(): LiveState {
  return state;
}

export function useLiveState(): LiveState {
  return useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    () => state,
  );
}

const QUEUE_GROUPS: Record<string, keyof Omit<Queue, "counts">> = {
  starting: "active",
  running: "active",
  queued: "queued",
  retrying: "queued",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  pruned: "pruned",
};

/** The queue with one run changed, moved to the group its new status belongs to (counts too). */
function patchQueue(old: Queue, id: string, change: (run: Run) => Run): Queue {
  const groups = old as unknown as Record<string, Run[] | undefined>;
  for (const from of Object.values(QUEUE_GROUPS)) {
    const runs = groups[from];
    const i = runs?.findIndex((r) => r.id === id) ?? -1;
    if (!runs || i < 0) continue;
    const run = change(runs[i]!);
    const to = QUEUE_GROUPS[run.status] ?? from;
    const source = runs.slice();
    if (to === from) {
      source[i] = run;
      return { ...old, [from]: source };
    }
    source.splice(i, 1);
    const counts: Record<string, number | undefined> = { ...old.counts };
    if (counts[from] !== undefined) counts[from] = Math.max(0, counts[from] - 1);
    if (counts[to] !== undefined) counts[to] = counts[to] + 1;
    return {
      ...old,
      counts: counts as unknown as Queue["counts"],
      [from]: source,
      [to]: [run, ...(groups[to] ?? [])],
    };
  }
  return old;
}

/** Apply a change to a run wherever a cached copy of it lives: its page, every run list, the
 * Overview's recent runs and queue (moved between groups), so that no two parts of a page
 * show the run in two states while one of them waits for its refetch. */
export function patchRun(qc: QueryClient, id: string, change: (run: Run) => Run): void {
  qc.setQueryData<Run>(["run", id], (old) => (old ? change(old) : old));
  qc.setQueryData<Queue>(["queue"], (old) => (old ? patchQueue(old, id, change) : old));
  qc.setQueriesData<RunList>({ queryKey: ["recent"] }, (old) => {
    if (!old?.runs) return old;
    const i = old.runs.findIndex((r) => r.id === id);
    if (i < 0) return old;
    const runs = old.runs.slice();
    runs[i] = change(runs[i]!);
    return { ...old, runs };
  });
  qc.setQueriesData<InfiniteData<RunList>>({ queryKey: ["runs"] }, (old) => {
    if (!old?.pages) return old;
    let touched = false;
    const pages = old.pages.map((page) => {
      const i = page.runs.findIndex((r) => r.id === id);
      if (i < 0) return page;
      touched = true;
      const runs = page.runs.slice();
      runs[i] = change(runs[i]!);
      return { ...page, runs };
    });
    return touched ? { ...old, pages } : old;
  });
}

/** Drop a run from every cached list (deleted here or in another tab); its page refetches. */
export function forgetRun(qc: QueryClient, id: string): void {
  qc.setQueriesData<InfiniteData<RunList>>({ queryKey: ["runs"] }, (old) =>
    old?.pages
      ? { ...old, pages: old.pages.map((p) => ({ ...p, runs: p.runs.filter((r) => r.id !== id) })) }
      : old,
  );
  for (const key of ["queue", "recent", "pipeline", "experiments"]) {
    void qc.invalidateQueries({ queryKey: [key] });
  }
}

function throttle(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}

const KINDS = [
  "created",
  "status",
  "progress",
  "summary",
  "metrics",
  "queue",
  "checkpoint",
  "deleted",
  "restored",
];

function handler(qc: QueryClient): (ev: LiveEvent) => void {
  const lists = throttle(() => void qc.invalidateQueries({ queryKey: ["runs"] }), 2000);
  const queue = throttle(() => void qc.invalidateQueries({ queryKey: ["queue"] }), 500);
  const recent = throttle(() => void qc.invalidateQueries({ queryKey: ["recent"] }), 1000);
  const pipeline = throttle(() => void qc.invalidateQueries({ queryKey: ["pipeline"] }), 2000);
  // a job that starts or ends takes or frees slots: what is free shows at once, not at the
  // next 5 s poll
  const system = throttle(() => void qc.invalidateQueries({ queryKey: ["system"] }), 500);
  return (ev) => {
    const id = ev.run_id ?? undefined;
    switch (ev.kind) {
      case "created":
        lists();
        queue();
        recent();
        pipeline();
        break;
      case "status":
        if (!id) break;
        if (ev.status) {
          const status = ev.status;
          // A status comes with its own reason or none: an old "retrying in" never outlives it.
          patchRun(qc, id, (r) => ({ ...r, status, reason: ev.reason ?? null }));
        }
        for (const key of ["run", "attempts", "checklist", "progress", "summary"]) {
          qc.invalidateQueries({ queryKey: [key, id] });
        }
        queue();
        recent();
        pipeline();
        system();
        break;
      case "progress":
        if (!id) break;
        // A progress event flushed late (it is throttled) cannot reopen a run that ended.
        patchRun(qc, id, (r) => isTerminal(r.status) ? r : ({
          ...r,
          progress: {
            epoch: ev.epoch ?? r.progress.epoch,
            total_epochs: ev.total_epochs ?? r.progress.total_epochs,
            percent: ev.percent ?? r.progress.percent,
          },
        }));
        qc.invalidateQueries({ queryKey: ["progress", id] });
        break;
      case "summary":
        if (!id) break;
        qc.invalidateQueries({ queryKey: ["summary", id] });
        qc.invalidateQueries({ queryKey: ["run", id] });
        lists();
        break;
      case "metrics": {
        if (!id) break;
        // Only the charts of the keys that got points: ["metrics", id, "k1,k2", start, end, n].
        const fresh = new Set(ev.keys ?? []);
        qc.invalidateQueries({
          queryKey: ["metrics", id],
          predicate: (q) =>
            !ev.keys || String(q.queryKey[2] ?? "").split(",").some((k) => fresh.has(k)),
        });
        qc.invalidateQueries({ queryKey: ["summary", id] }); // counts and last values
        const run = qc.getQueryData<Run>(["run", id]);
        if (run && (ev.keys ?? []).some((k) => !(k in run.metrics))) {
          qc.invalidateQueries({ queryKey: ["run", id] });
        }
        break;
      }
      case "queue":
        if (ev.counts) {
          const counts = ev.counts;
          qc.setQueryData<Queue>(["queue"], (old) => (old ? { ...old, counts } : old));
        }
        queue();
        break;
      case "deleted":
        if (!id) break;
        forgetRun(qc, id);
        void qc.invalidateQueries({ queryKey: ["run", id] });
        break;
      case "restored":
        lists();
        queue();
        recent();
        pipeline();
        break;
      case "checkpoint":
        if (!id) break;
        for (const key of ["checkpoints", "artifacts", "checklist"]) {
          qc.invalidateQueries({ queryKey: [key, id] });
        }
        break;
    }
  };
}

/** Open the app-wide stream; reconnects by itself, resuming after the last event seen. */
export function startLive(qc: QueryClient): () => void {
  const onEvent = handler(qc);
  let source: EventSource | null = null;
  let lastId: string | null = null;
  let applied = -1; // the id of the newest event applied
  let retry: ReturnType<typeof setTimeout> | null = null;
  let delay = 1000;
  let wasDown = false;
  let stopped = false;

  const connect = () => {
    if (stopped) return;
    const url = lastId ? `/api/events?after=${encodeURIComponent(lastId)}` : "/api/events";
    const es = new EventSource(url);
    source = es;
    es.onopen = () => {
      delay = 1000;
      setState("live");
      if (wasDown) {
        wasDown = false;
        void qc.invalidateQueries(); // what changed while we were away
      }
    };
    es.onerror = () => {
      wasDown = true;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error, e.g. a server without the stream): retry by hand.
        es.close();
        retry = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30_000);
      }
      void fetch("/api/health").then(
        (r) => setState(r.ok ? "polling" : "offline"),
        () => setState("offline"),
      );
    };
    const listen = (e: MessageEvent<string>) => {
      // Events apply in the order of their ids, once: a duplicate (a replay after a
      // reconnect) or one older than what was applied cannot undo a newer status.
      const seq = Number(e.lastEventId);
      if (e.lastEventId && Number.isFinite(seq)) {
        if (seq <= applied) return;
        applied = seq;
      }
      if (e.lastEventId) lastId = e.lastEventId;
      try {
        const data = JSON.parse(e.data) as LiveEvent;
        // One render for all the caches an event touches: no frame shows half of it.
        notifyManager.batch(() => onEvent({ ...data, kind: data.kind ?? e.type }));
      } catch {
        // a malformed event is skipped, never fatal
      }
    };
    for (const kind of KINDS) es.addEventListener(kind, listen);
    es.onmessage = listen;
  };
  connect();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    source?.close();
  };
}
