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

export function useDeleteRuns() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (ids: string[]) => {
      const done: Trashed[] = [];
      for (const id of ids) {
        done.push(await api.delete<Trashed>(`/api/runs/${enc(id)}`));
        forgetRun(qc, id);
      }
      return done;
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
