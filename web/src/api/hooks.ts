// Queries, one hook per resource; keys are [resource, run id, …] so that live events can
// invalidate exactly what changed (see live.ts).

import {
  type QueryClient,
  keepPreviousData,
  queryOptions,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { ApiError, api, enc, qs } from "./client";
import { firstChartKey } from "../lib/format";
import { liveState } from "./live";
import type {
  ArtifactFile,
  ArtifactTree,
  Attempt,
  Checklist,
  Checkpoint,
  Compare,
  Dataset,
  DatasetDetail,
  DatasetVersionDetail,
  Experiment,
  Metrics,
  Progress,
  Queue,
  Run,
  RunList,
  Summary,
  SystemInfo,
} from "./types";

const runPath = (id: string) => `/api/runs/${enc(id)}`;

export const runQuery = (id: string) =>
  queryOptions({ queryKey: ["run", id], queryFn: () => api.get<Run>(runPath(id)) });

export function useRun(id: string) {
  return useQuery(runQuery(id));
}

/** What the top-left chart of a run page shows first, read before that chart is measured. */
const firstChartQuery = (id: string, key: string) =>
  queryOptions({
    queryKey: ["metrics-first", id, key],
    queryFn: () =>
      api.get<Metrics>(
        `${runPath(id)}/metrics${qs({ keys: [key], max_points: Math.min(2000, Math.ceil(window.innerWidth / 200) * 200) })}`,
      ),
    staleTime: Number.POSITIVE_INFINITY,
  });

/** Start the first reads of a deep link while React is still starting: the run, then the
 * series of its first chart (at about the window's width; the chart refines it). Resolves
 * when both are in (or failed). */
export function prefetchFor(qc: QueryClient, pathname: string): Promise<unknown> {
  const match = /^\/runs\/([^/]+)\/?$/.exec(pathname);
  if (!match?.[1]) return Promise.resolve();
  const id = decodeURIComponent(match[1]);
  return qc
    .fetchQuery(runQuery(id))
    .then((run) => {
      const key = firstChartKey(Object.keys(run.metrics));
      if (key) return qc.prefetchQuery(firstChartQuery(id, key));
    })
    .catch(() => undefined); // the page shows the error when it asks again
}

/** The series prefetched for a deep link, if any: a placeholder until the chart's own read. */
export function useFirstChart(id: string, key: string) {
  return useQuery({ ...firstChartQuery(id, key), enabled: false });
}

export function useProgress(id: string, enabled = true) {
  return useQuery({
    queryKey: ["progress", id],
    queryFn: () => api.get<Progress>(`${runPath(id)}/progress`),
    enabled,
  });
}

export function useAttempts(id: string) {
  return useQuery({
    queryKey: ["attempts", id],
    queryFn: async () => (await api.get<{ attempts: Attempt[] }>(`${runPath(id)}/attempts`)).attempts,
  });
}

export function useSummary(id: string) {
  return useQuery({
    queryKey: ["summary", id],
    queryFn: () => api.get<Summary>(`${runPath(id)}/summary`),
  });
}

export function useChecklist(id: string) {
  return useQuery({
    queryKey: ["checklist", id],
    queryFn: () => api.get<Checklist>(`${runPath(id)}/checklist`),
  });
}

export function useCheckpoints(id: string) {
  return useQuery({
    queryKey: ["checkpoints", id],
    queryFn: async () =>
      (await api.get<{ checkpoints: Checkpoint[] }>(`${runPath(id)}/checkpoints`)).checkpoints,
  });
}

export function useDeleteCheckpoint(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api.del(`${runPath(id)}/checkpoints/${enc(name)}`),
    onSuccess: (_data, name) => {
      qc.setQueryData<Checkpoint[]>(["checkpoints", id], (old) =>
        old?.filter((c) => c.name !== name),
      );
      for (const key of ["checkpoints", "artifacts", "checklist"]) {
        void qc.invalidateQueries({ queryKey: [key, id] });
      }
    },
  });
}

/** The run dir's files; an older server lists only registered artifacts (no root). */
export function useArtifacts(id: string) {
  return useQuery({
    queryKey: ["artifacts", id],
    queryFn: async (): Promise<ArtifactTree> => {
      const data = await api.get<ArtifactTree | { artifacts: ArtifactFile[] }>(
        `${runPath(id)}/artifacts`,
      );
      if ("files" in data) return data;
      const files = data.artifacts.map((a) => ({ ...a, kind: "artifact" as const, registered: true }));
      return { root: null, total_bytes: files.reduce((n, f) => n + f.size, 0), files };
    },
  });
}

export interface MetricsRead {
  keys: string[];
  start?: number | null;
  end?: number | null;
  maxPoints?: number;
}

/** Poll while a run is active and live events are unavailable; an ended run does not change. */
export const pollWhile = (active: boolean) => () =>
  active && liveState() !== "live" ? 5_000 : (false as const);

export function useMetrics(id: string, read: MetricsRead, enabled = true, active = true) {
  const keys = read.keys;
  return useQuery({
    queryKey: ["metrics", id, keys.join("\n"), read.start ?? null, read.end ?? null, read.maxPoints ?? null],
    queryFn: () =>
      api.get<Metrics>(
        `${runPath(id)}/metrics${qs({
          keys,
          start: read.start == null ? undefined : Math.floor(read.start),
          end: read.end == null ? undefined : Math.ceil(read.end),
          max_points: read.maxPoints,
        })}`,
      ),
    enabled: enabled && read.keys.length > 0,
    placeholderData: keepPreviousData,
    refetchInterval: pollWhile(active),
  });
}

export interface RunFilters {
  filter?: string;
  q?: string;
  status?: string;
  experiment?: string;
  tag?: string;
  order_by?: string;
}

export const FIRST_PAGE = 200;
export const NEXT_PAGE = 1000;

export function useRunPages(filters: RunFilters) {
  return useInfiniteQuery({
    queryKey: ["runs", filters],
    queryFn: ({ pageParam }) =>
      api.get<RunList>(
        `/api/runs${qs({
          ...filters,
          limit: pageParam ? NEXT_PAGE : FIRST_PAGE,
          cursor: pageParam ?? undefined,
        })}`,
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    // Without live events, poll while few pages are loaded (a refetch reads every page again).
    refetchInterval: (q) =>
      liveState() !== "live" && (q.state.data?.pages.length ?? 0) <= 2 ? 10_000 : false,
  });
}

export function useRecentRuns(limit = 8) {
  return useQuery({
    queryKey: ["recent", limit],
    queryFn: () => api.get<RunList>(`/api/runs${qs({ limit })}`),
  });
}

export function useExperiments() {
  return useQuery({
    queryKey: ["experiments"],
    queryFn: async () => (await api.get<{ experiments: Experiment[] }>("/api/experiments")).experiments,
    staleTime: 30_000,
  });
}

/** The queue; a server without /api/queue gets it composed from filtered run lists. */
export function useQueue() {
  return useQuery({
    queryKey: ["queue"],
    queryFn: async () => {
      try {
        return await api.get<Queue>("/api/queue?limit=12");
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
      const groups = {
        active: "starting,running",
        queued: "queued,retrying",
        completed: "completed",
        failed: "failed",
        cancelled: "cancelled",
      } as const;
      const lists = await Promise.all(
        Object.values(groups).map((status) =>
          api.get<RunList>(`/api/runs${qs({ status, limit: 12 })}`),
        ),
      );
      const [active, queued, completed, failed, cancelled] = lists.map((l) => l.runs) as [
        Run[],
        Run[],
        Run[],
        Run[],
        Run[],
      ];
      return {
        counts: {
          active: active.length,
          queued: queued.length,
          completed: completed.length,
          failed: failed.length,
          cancelled: cancelled.length,
        },
        active,
        queued,
        completed,
        failed,
        cancelled,
      } satisfies Queue;
    },
  });
}

export function useSystem() {
  return useQuery({
    queryKey: ["system"],
    queryFn: () => api.get<SystemInfo>("/api/system"),
    refetchInterval: 5000,
  });
}

export function useCompare(ids: string[], baseline: string | null) {
  return useQuery({
    queryKey: ["compare", ids.join(","), baseline],
    queryFn: () =>
      api.post<Compare>("/api/compare", { run_ids: ids, ...(baseline ? { baseline } : {}) }),
    enabled: ids.length >= 2,
    placeholderData: keepPreviousData,
  });
}

/** Runs of pipelines: the newest pages, enough for any graph a person reads. */
export function usePipelineRuns() {
  return useQuery({
    queryKey: ["pipeline"],
    queryFn: async () => {
      const out: Run[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 5; i++) {
        const page: RunList = await api.get<RunList>(`/api/runs${qs({ limit: 1000, cursor })}`);
        out.push(...page.runs);
        cursor = page.next_cursor;
        if (!cursor) break;
      }
      return out;
    },
  });
}

export function useDatasets() {
  return useQuery({
    queryKey: ["datasets"],
    queryFn: async () => (await api.get<{ datasets: Dataset[] }>("/api/datasets")).datasets,
  });
}

export function useDataset(name: string) {
  return useQuery({
    queryKey: ["dataset", name],
    queryFn: () => api.get<DatasetDetail>(`/api/datasets/${enc(name)}`),
  });
}

export function useDatasetVersion(name: string, version: string | null) {
  return useQuery({
    queryKey: ["dataset", name, version],
    queryFn: () =>
      api.get<DatasetVersionDetail>(`/api/datasets/${enc(name)}/versions/${enc(version ?? "")}`),
    enabled: version != null,
  });
}
