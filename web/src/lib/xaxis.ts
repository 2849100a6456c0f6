// What a chart's x-axis counts: training steps, epochs, seconds since the start, or the time of
// day. The choice is one for the whole dashboard (kept in localStorage), so a run page and a
// comparison read the same way.

import { useSyncExternalStore } from "react";
import type { Series } from "../api/types";

export type XAxis = "step" | "epoch" | "relative" | "wall";

export const X_AXES: { value: XAxis; label: string }[] = [
  { value: "step", label: "step" },
  { value: "epoch", label: "epoch" },
  { value: "relative", label: "relative time (s)" },
  { value: "wall", label: "wall time" },
];

const KEY = "runyard.x-axis";
const listeners = new Set<() => void>();

function read(): XAxis {
  try {
    const v = localStorage.getItem(KEY);
    return X_AXES.some((a) => a.value === v) ? (v as XAxis) : "step";
  } catch {
    return "step";
  }
}

export function useXAxis(): [XAxis, (next: XAxis) => void] {
  const axis = useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    read,
  );
  const set = (next: XAxis) => {
    try {
      localStorage.setItem(KEY, next);
    } catch {
      // private mode: the choice lasts as long as the page
    }
    for (const fn of listeners) fn();
  };
  return [axis, set];
}

/** The epoch at each step, from the run's `epoch` series (the epoch of the latest step at or
 * before it); null where no epoch was logged before that step. */
function epochsAt(steps: number[], epochs: Series): (number | null)[] {
  const es = epochs.steps;
  return steps.map((s) => {
    let lo = 0;
    let hi = es.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (es[mid]! <= s) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const v = at < 0 ? null : Number(epochs.values[at]);
    return v === null || !Number.isFinite(v) ? null : v;
  });
}

/** A series' x values on `axis`, with its values kept aligned (points without an x dropped);
 * `start` is the run's start (UNIX s) for relative time; wall time is UNIX seconds. */
export function onAxis(
  series: Series,
  axis: XAxis,
  epochs?: Series,
  start?: number,
): { xs: number[]; values: Series["values"] } {
  if (axis === "step") return { xs: series.steps, values: series.values };
  if (axis === "wall" || axis === "relative") {
    const ts = series.timestamps ?? [];
    if (ts.length !== series.values.length) return { xs: series.steps, values: series.values };
    const t0 = axis === "relative" ? (start ?? ts[0] ?? 0) : 0;
    return { xs: ts.map((t) => t - t0), values: series.values };
  }
  if (!epochs?.steps.length) return { xs: [], values: [] };
  const at = epochsAt(series.steps, epochs);
  const xs: number[] = [];
  const values: Series["values"] = [];
  at.forEach((e, i) => {
    if (e !== null) {
      // Points within one epoch spread over it, so a curve keeps its shape.
      xs.push(e);
      values.push(series.values[i]!);
    }
  });
  return { xs: spread(xs), values };
}

/** 3, 3, 3, 4 → 3, 3.33, 3.67, 4: strictly increasing x for uPlot, within each epoch. */
function spread(xs: number[]): number[] {
  const out = xs.slice();
  let i = 0;
  while (i < xs.length) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[i]) j++;
    const n = j - i + 1;
    if (n > 1) for (let k = 0; k < n; k++) out[i + k] = xs[i]! + k / n;
    i = j + 1;
  }
  return out;
}

/** The axis' name in a chart's legend. */
export function axisLabel(axis: XAxis): string {
  return X_AXES.find((a) => a.value === axis)?.label ?? axis;
}
