// Sweeps: the list, and one sweep's trials, best-so-far, objective by step (pruned trials
// faded) and a parallel-coordinates plot of parameters to objective. Live while it runs.

import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { api, enc, num } from "../api/client";
import type { Num } from "../api/types";
import { Chart, type Line } from "../components/Chart";
import { Empty, ErrorState, Loading, Panel } from "../components/States";
import { StatusBadge } from "../components/Status";
import { useTitle, useWidth } from "../lib/hooks";

interface Trial {
  trial: number;
  run_id: string;
  name: string;
  status: string;
  params: Record<string, unknown>;
  value: Num;
  step: number | null;
  points: number;
  reason: string | null;
}

interface Sweep {
  id: string;
  name: string;
  status: string;
  message: string | null;
  objective: string;
  sampler: string;
  pruner: string;
  max_trials: number;
  parallel: number;
  space: Record<string, { type: string; log?: boolean; choices?: unknown[] }>;
  counts: Record<string, number>;
  best: { trial: number; run_id: string; value: Num } | null;
  trials?: Trial[];
  curves?: Record<string, { steps: number[]; values: Num[] }>;
}

const live = (s: Sweep | undefined) => (s && s.status !== "running" ? false : 2000);
const FADED = "rgba(150,150,150,0.45)";

function fmt(v: unknown): string {
  const n = typeof v === "number" ? v : num(v);
  if (typeof v === "string" && n === null) return v;
  return n === null ? "–" : Number.isInteger(n) ? String(n) : n.toPrecision(4);
}

export function SweepsPage() {
  const { id } = useParams();
  return id ? <SweepDetail id={id} /> : <SweepList />;
}

function SweepList() {
  useTitle("Sweeps");
  const q = useQuery({
    queryKey: ["sweeps"],
    queryFn: () => api.get<{ sweeps: Sweep[] }>("/api/sweeps"),
    refetchInterval: 3000,
  });
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorState error={q.error} what="Sweeps" retry={() => q.refetch()} />;
  const sweeps = q.data.sweeps;
  return (
    <Panel title="Sweeps">
      {sweeps.length === 0 ? (
        <Empty title="No sweeps yet">
          Start one with <code>runyard sweep create -f sweep.yaml -- python train.py --lr {"{lr}"}</code>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="sweeps">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Objective</th>
                <th>Trials</th>
                <th>Pruned</th>
                <th>Best</th>
              </tr>
            </thead>
            <tbody>
              {sweeps.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/sweeps/${enc(s.id)}`}>{s.name}</Link>
                  </td>
                  <td>{s.status}</td>
                  <td>{s.objective}</td>
                  <td>
                    {Object.values(s.counts).reduce((a, b) => a + b, 0)}/{s.max_trials}
                  </td>
                  <td>{s.counts.pruned ?? 0}</td>
                  <td>{s.best ? fmt(s.best.value) : "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}

function SweepDetail({ id }: { id: string }) {
  const q = useQuery({
    queryKey: ["sweep", id],
    queryFn: () => api.get<Sweep>(`/api/sweeps/${enc(id)}?curves=true`),
    refetchInterval: (query) => live(query.state.data),
  });
  const [ref, width] = useWidth<HTMLDivElement>();
  useTitle(q.data?.name ?? "Sweep");
  if (q.isError) return <ErrorState error={q.error} what="Sweep" retry={() => q.refetch()} />;
  const s = q.data;
  const trials = s?.trials ?? [];
  const minimise = s?.objective.endsWith(":min") ?? true;
  // Best so far, over the trials in order (completed ones only: a pruned value is early).
  let best: number | null = null;
  const bestSteps: number[] = [];
  const bestValues: Num[] = [];
  for (const t of trials) {
    const v = num(t.value);
    if (t.status === "completed" && v !== null && (best === null || (minimise ? v < best : v > best))) best = v;
    bestSteps.push(t.trial);
    bestValues.push(best);
  }
  const curves: Line[] = trials
    .filter((t) => s?.curves?.[t.run_id])
    .map((t) => ({ label: `trial ${t.trial}`, ...s!.curves![t.run_id]! }));
  const colors = trials
    .filter((t) => s?.curves?.[t.run_id])
    .map((t, i) => (t.status === "pruned" ? FADED : ["#2563eb", "#e8590c", "#0f9f6e", "#c2255c", "#7048e8"][i % 5]!));
  return (
    <div ref={ref} className="stack" data-sweep={id}>
      {!s ? (
        <Loading />
      ) : (
        <>
          <Panel title={s.name}>
            <p>
              <span data-testid="sweep-status">{s.status}</span> · {s.objective} · sampler {s.sampler} · pruner{" "}
              {s.pruner} · {trials.length}/{s.max_trials} trials, {s.parallel} at a time
            </p>
            {s.message && s.status !== "completed" ? (
              <p role={s.status === "failed" ? "alert" : undefined}>{s.message}</p>
            ) : null}
            {s.best ? (
              <p data-testid="best">
                Best: <Link to={`/runs/${enc(s.best.run_id)}`}>trial {s.best.trial}</Link> ={" "}
                {fmt(s.best.value)}
              </p>
            ) : null}
          </Panel>
          <Panel title="Trials">
            <div className="table-wrap">
              <table className="table" data-testid="trials">
                <thead>
                  <tr>
                    <th>Trial</th>
                    <th>Status</th>
                    {Object.keys(s.space).map((k) => (
                      <th key={k}>{k}</th>
                    ))}
                    <th>{s.objective.replace(/:(min|max)$/, "")}</th>
                    <th>Steps</th>
                  </tr>
                </thead>
                <tbody>
                  {trials.map((t) => (
                    <tr key={t.run_id} data-status={t.status} className={t.status === "pruned" ? "faded" : undefined}>
                      <td>
                        <Link to={`/runs/${enc(t.run_id)}`}>{t.trial}</Link>
                      </td>
                      <td>
                        <StatusBadge status={t.status} />
                      </td>
                      {Object.keys(s.space).map((k) => (
                        <td key={k}>{fmt(t.params[k])}</td>
                      ))}
                      <td>{fmt(t.value)}</td>
                      <td>{t.points}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Panel>
          {width > 0 && trials.length > 0 ? (
            <>
              <Panel title="Best so far, by trial">
                <Chart title="best so far" xLabel="trial" whole width={width - 40} height={180} lines={[{ label: "best", steps: bestSteps, values: bestValues }]} />
              </Panel>
              <Panel title="Objective by step (pruned trials faded)">
                {curves.length > 0 ? <Chart title="objective by step" whole width={width - 40} lines={curves} colors={colors} /> : <Empty title="No points yet" />}
              </Panel>
              <Panel title="Parameters to objective">
                <Parallel sweep={s} trials={trials} width={width - 40} />
              </Panel>
            </>
          ) : null}
        </>
      )}
    </div>
  );
}

/** One vertical axis per parameter and one for the objective; one polyline per trial. */
function Parallel({ sweep, trials, width }: { sweep: Sweep; trials: Trial[]; width: number }) {
  const names = [...Object.keys(sweep.space), "objective"];
  const h = 220;
  const pad = 24;
  const x = (i: number) => pad + (i * (width - 2 * pad)) / Math.max(1, names.length - 1);
  const ticks: { y: number; text: string }[][] = [];
  const scale = (name: string, axis: number): ((v: unknown) => number | null) => {
    const spec = sweep.space[name];
    if (spec?.type === "categorical") {
      const choices = (spec.choices ?? []).map(String);
      const at = (c: string) => pad + ((choices.indexOf(c) + 0.5) / choices.length) * (h - 2 * pad);
      ticks[axis] = choices.map((c) => ({ y: at(c), text: c }));
      return (v) => at(String(v));
    }
    const log = spec?.log ?? false;
    const vals = trials
      .map((t) => num(name === "objective" ? t.value : t.params[name]))
      .filter((v): v is number => v !== null && Number.isFinite(v))
      .map((v) => (log ? Math.log10(v) : v));
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    const shown = (x: number) => fmt(log ? 10 ** x : x);
    ticks[axis] = vals.length ? [{ y: h - pad, text: shown(lo) }, { y: pad, text: shown(hi) }] : [];
    return (v) => {
      const n = num(v);
      if (n === null || !Number.isFinite(n) || vals.length === 0) return null;
      const t = hi > lo ? ((log ? Math.log10(n) : n) - lo) / (hi - lo) : 0.5;
      return h - pad - t * (h - 2 * pad);
    };
  };
  const scales = names.map((n, i) => scale(n, i));
  return (
    <svg width={width} height={h} role="img" aria-label="parallel coordinates" data-testid="parallel">
      {names.map((n, i) => (
        <g key={n}>
          <line x1={x(i)} x2={x(i)} y1={pad} y2={h - pad} stroke="currentColor" opacity={0.3} />
          <text x={x(i)} y={14} textAnchor="middle" fontSize={11} fill="currentColor">
            {n}
          </text>
          {(ticks[i] ?? []).map((t) => (
            <text key={t.text} x={x(i) + 4} y={t.y + 4} fontSize={10} fill="currentColor" opacity={0.7}>
              {t.text}
            </text>
          ))}
        </g>
      ))}
      {trials.map((t) => {
        const ys = names.map((n, i) => scales[i]!(n === "objective" ? t.value : t.params[n]));
        if (ys.some((y) => y === null)) return null;
        const points = ys.map((y, i) => `${x(i)},${y}`).join(" ");
        const isBest = sweep.best?.run_id === t.run_id;
        return (
          <polyline
            key={t.run_id}
            points={points}
            fill="none"
            data-status={t.status}
            stroke={t.status === "pruned" ? FADED : isBest ? "#0f9f6e" : "#2563eb"}
            strokeWidth={isBest ? 3 : 1.4}
          />
        );
      })}
    </svg>
  );
}
