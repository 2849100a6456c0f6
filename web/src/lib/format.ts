// Formatting shared by every page: numbers, sizes, durations, times and run progress.

import { num } from "../api/client";
import type { Num, Run, RunStatus } from "../api/types";

export function fmtNumber(v: Num | number | undefined): string {
  const n = num(v);
  if (n === null) return "—";
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "∞" : "−∞";
  if (n === 0) return "0";
  const a = Math.abs(n);
  if (a >= 1e6 || a < 1e-3) return n.toExponential(3);
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return Number(n.toPrecision(4)).toString();
}

export function fmtDelta(d: number | null | undefined): string {
  if (d === null || d === undefined || Number.isNaN(d)) return "—";
  if (d === 0) return "±0";
  return `${d > 0 ? "+" : "−"}${fmtNumber(Math.abs(d))}`;
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function toMs(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso.endsWith("Z") || /[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(t) ? null : t;
}

export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  const t = toMs(iso);
  if (t === null) return "—";
  const s = (now - t) / 1000;
  if (s < 45) return "just now";
  return `${fmtDuration(s).split(" ")[0]} ago`;
}

export function fmtTime(iso: string | null | undefined): string {
  const t = toMs(iso);
  if (t === null) return "—";
  return new Date(t).toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** Wall-clock seconds of a run: to its end, or to now while it runs. */
export function runDuration(run: Run, now = Date.now()): number | null {
  const start = toMs(run.started_at);
  if (start === null) return null;
  const end = toMs(run.ended_at) ?? (isTerminal(run.status) ? null : now);
  return end === null ? null : (end - start) / 1000;
}

export function isTerminal(status: RunStatus): boolean {
  return (
    status === "completed" || status === "failed" || status === "cancelled" || status === "pruned"
  );
}

/** Percent done, where an early-stopped (or otherwise completed) run counts as complete. */
export function runPercent(run: Run): number {
  if (run.early_stopped || run.status === "completed") return 100;
  const p = run.progress.percent;
  if (p !== null && p !== undefined) return Math.max(0, Math.min(100, p));
  const { epoch, total_epochs } = run.progress;
  if (epoch !== null && total_epochs) return Math.min(100, (100 * epoch) / total_epochs);
  return 0;
}

export function bestOf(run: Run): number | null {
  if (run.best !== undefined) return num(run.best);
  const key = run.primary_metric;
  return key ? num(run.metrics[key]) : null;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/** `train/loss` → `train`; keys without a slash group under "other". */
export function metricGroup(key: string): string {
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "other";
}

export function fmtValue(v: unknown): string {
  if (v === undefined) return "—";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

const GROUP_ORDER = ["train", "val", "system"];

/** Metric keys grouped by prefix, in the order the run page draws them. */
export function groupKeys(keys: string[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const key of [...keys].sort()) {
    const g = metricGroup(key);
    groups.set(g, [...(groups.get(g) ?? []), key]);
  }
  const rank = (g: string) => (GROUP_ORDER.includes(g) ? GROUP_ORDER.indexOf(g) : GROUP_ORDER.length);
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

/** The key of the top-left chart on a run page. */
export function firstChartKey(keys: string[]): string | undefined {
  return groupKeys(keys)[0]?.[1][0];
}
