// Writes from the dashboard: relabel a run, delete it (to the trash), archive an experiment.
// Each updates the caches it touched; a run another tab deleted answers 404 "deleted", and the
// page then shows that instead of writing anything.

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, enc } from "./client";
import { forgetRun, patchRun } from "./live";
import type { Experiment, Run } from "./types";

export interface RunLabels {
  name?: string;
  tags?: string[];
  notes?: string;
}

export function useUpdateRun(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (labels: RunLabels) => api.patch<Run>(`/api/runs/${enc(id)}`, labels),
    onSuccess: (run) => patchRun(qc, id, () => run),
    onError: (error) => {
      if (error instanceof ApiError && error.code === "deleted") {
        forgetRun(qc, id);
        void qc.invalidateQueries({ queryKey: ["run", id] });
      }
    },
  });
}

export interface Trashed {
  id: string;
  name: string;
  purge_after: string;
}

export interface BulkResult {
  done: string[];
  refused: { id: string; reason: string }[];
}

/** Delete or tag many runs in one request; every run is answered for (done or refused). */
export function bulk(ids: string[], action: "delete" | "tag" | "untag", tag?: string) {
  return api.post<BulkResult>("/api/bulk/runs", { ids, action, tag });
}

/** A line for the runs the server refused; null when none was. */
export function refusals(result: BulkResult): string | null {
  const n = result.refused.length;
  if (n === 0) return null;
  const first = result.refused[0]!.reason;
  return n === 1 ? first : `${n} runs were left as they were, e.g. ${first}`;
}

export function useDeleteRuns() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (ids: string[]) => {
      const result = await bulk(ids, "delete");
      for (const id of result.done) forgetRun(qc, id);
      return result;
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: ["runs"] }),
  });
}

export function useArchiveExperiment() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ name, archived }: { name: string; archived: boolean }) =>
      api.patch<Experiment>(`/api/experiments/${enc(name)}`, { archived }),
    onSuccess: () => {
      for (const key of ["experiments", "runs", "recent", "queue"]) {
        void qc.invalidateQueries({ queryKey: [key] });
      }
    },
  });
}
