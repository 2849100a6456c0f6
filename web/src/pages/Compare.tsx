// Compare 2–10 runs: final metrics with a trophy on the best value of each (by its goal) and
// deltas to a baseline, overlaid charts of the picked metrics, and the config diff.
// No metric name is hard-coded: keys come from the runs.

import { useQueries } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, enc, qs } from "../api/client";
import { useCompare } from "../api/hooks";
import type { Compare, Metrics, Run } from "../api/types";
import { AxisPicker } from "../components/AxisPicker";
import { Chart, type Line, PALETTE } from "../components/Chart";
import { StatusBadge } from "../components/Status";
import { Empty, ErrorState, Loading, Panel } from "../components/States";
import { fmtDelta, fmtNumber, fmtValue } from "../lib/format";
import { pointsFor, useTitle, useWidth } from "../lib/hooks";
import { axisLabel, onAxis, useXAxis, type XAxis } from "../lib/xaxis";

export function ComparePage() {
  const [params] = useSearchParams();
  const ids = useMemo(
    () => [...new Set((params.get("runs") ?? "").split(",").filter(Boolean))],
    [params],
  );
  const baseline = params.get("baseline");
  const compare = useCompare(ids, baseline && ids.includes(baseline) ? baseline : null);
  useTitle("Compare");

  const navigate = useNavigate();
  const setBaseline = (id: string | null) => {
    // Built by hand: URLSearchParams would write the commas as %2C.
    const base = id ? `&baseline=${encodeURIComponent(id)}` : "";
    navigate(`/compare?runs=${ids.map(encodeURIComponent).join(",")}${base}`, { replace: true });
  };

  if (ids.length < 2) {
    return (
      <div className="page">
        <h1>Compare</h1>
        <Empty title="Pick at least two runs to compare" icon="⇄">
          <p>Tick 2 to 10 runs in the runs table, then press Compare.</p>
          <Link className="btn btn-primary" to="/runs">
            Choose runs
          </Link>
        </Empty>
      </div>
    );
  }
  return (
    <div className="page page-compare">
      <div className="page-head">
        <h1>Compare {ids.length} runs</h1>
        <Link className="btn" to="/runs">
          Change selection
        </Link>
      </div>
      {compare.isPending ? (
        <Loading label="Comparing…" rows={6} />
      ) : compare.data === undefined && compare.isError ? (
        <ErrorState error={compare.error} what="Comparison" retry={() => void compare.refetch()} />
      ) : (
        <CompareView data={compare.data} baseline={compare.data.baseline} setBaseline={setBaseline} />
      )}
    </div>
  );
}

function CompareView({
  data,
  baseline,
  setBaseline,
}: {
  data: Compare;
  baseline: string | null;
  setBaseline: (id: string | null) => void;
}) {
  const runs = data.runs;
  const colour = (i: number) => PALETTE[i % PALETTE.length]!;
  return (
    <>
      <ul className="legend-runs" aria-label="Runs compared">
        {runs.map((r, i) => (
          <li key={r.id} className="legend-run">
            <span className="swatch" style={{ background: colour(i) }} aria-hidden="true" />
            <span className="legend-index" aria-hidden="true">
              {i + 1}
            </span>
            <Link to={`/runs/${r.id}`}>{r.name}</Link>
            <StatusBadge status={r.status} early={r.early_stopped} />
          </li>
        ))}
      </ul>
      <MetricsTable data={data} baseline={baseline} setBaseline={setBaseline} />
      <OverlaidCharts runs={runs} keys={data.metrics.map((m) => m.key)} />
      <ConfigDiff data={data} />
    </>
  );
}

function MetricsTable({
  data,
  baseline,
  setBaseline,
}: {
  data: Compare;
  baseline: string | null;
  setBaseline: (id: string | null) => void;
}) {
  return (
    <Panel
      title="Final metrics"
      id="final-metrics"
      actions={
        <label className="field inline">
          <span className="small muted">Baseline</span>
          <select
            value={baseline ?? ""}
            onChange={(e) => setBaseline(e.target.value || null)}
            data-testid="baseline"
          >
            <option value="">none</option>
            {data.runs.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {data.metrics.length === 0 ? (
        <p className="muted">These runs logged no metrics.</p>
      ) : (
        <div className="table-wrap scroll-x">
          <table className="table matrix cards-on-phone" data-testid="metrics-table">
            <thead>
              <tr>
                <th scope="col">Metric</th>
                {data.runs.map((r, i) => (
                  <th key={r.id} scope="col" data-run={r.id}>
                    <span className="swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" />
                    {r.name}
                    {r.id === baseline ? <span className="badge tone-muted small">baseline</span> : null}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.metrics.map((m) => (
                <tr key={m.key} data-metric={m.key}>
                  <th scope="row">
                    <code>{m.key}</code>
                    <div className="muted small">
                      {m.goal === "min" ? "lower is better ↓" : m.goal === "max" ? "higher is better ↑" : "no goal"}
                    </div>
                  </th>
                  {data.runs.map((r) => {
                    const best = m.best_run_id === r.id;
                    const delta = m.deltas?.[r.id];
                    return (
                      <td
                        key={r.id}
                        className={`tabular${best ? " best" : ""}`}
                        data-run={r.id}
                        data-label={r.name}
                        data-best={best ? "true" : undefined}
                      >
                        {best ? (
                          <Trophy />
                        ) : null}
                        {m.missing?.[r.id] ? (
                          <Missing why={m.missing[r.id]!} />
                        ) : (
                          fmtNumber(m.values[r.id] ?? null)
                        )}
                        {baseline && r.id !== baseline && delta != null ? (
                          <div className={`delta small ${deltaTone(delta, m.goal)}`}>{fmtDelta(delta)}</div>
                        ) : null}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}

/** An empty cell says why: "—" and the reason, never a bare null. */
function Missing({ why }: { why: string }) {
  return (
    <span className="muted" data-missing={why} title={why}>
      — <span className="small">{why}</span>
    </span>
  );
}

/** Drawn, not an emoji: a browser without an emoji font still shows it. */
function Trophy() {
  return (
    <svg className="trophy" role="img" aria-label="best" width="14" height="14" viewBox="0 0 24 24">
      <title>best</title>
      <path
        fill="currentColor"
        d="M7 3h10v2h3v3a4 4 0 0 1-4 4h-.3A5 5 0 0 1 13 14.9V18h3v3H8v-3h3v-3.1A5 5 0 0 1 8.3 12H8a4 4 0 0 1-4-4V5h3V3zm0 4H6v1a2 2 0 0 0 1 1.7V7zm10 0v2.7A2 2 0 0 0 18 8V7h-1z"
      />
    </svg>
  );
}

function deltaTone(delta: number, goal: string | null): string {
  if (!goal || delta === 0) return "muted";
  const better = goal === "min" ? delta < 0 : delta > 0;
  return better ? "tone-ok-text" : "tone-bad-text";
}

function defaultKeys(keys: string[]): string[] {
  const val = keys.filter((k) => k.startsWith("val/"));
  return val.length ? val : keys.slice(0, 2);
}

function OverlaidCharts({ runs, keys }: { runs: Run[]; keys: string[] }) {
  const [picked, setPicked] = useState<string[] | null>(null);
  const shown = picked ?? defaultKeys(keys);
  const [ref, width] = useWidth<HTMLDivElement>();
  const maxPoints = pointsFor(width);
  const [axis] = useXAxis();
  const read = axis === "epoch" && !shown.includes("epoch") ? [...shown, "epoch"] : shown;
  const queries = useQueries({
    queries: runs.map((r) => ({
      queryKey: ["metrics", r.id, read.join("\n"), null, null, maxPoints],
      queryFn: () =>
        api.get<Metrics>(`/api/runs/${enc(r.id)}/metrics${qs({ keys: read, max_points: maxPoints })}`),
      enabled: shown.length > 0 && width > 0,
    })),
  });
  const toggle = (k: string) =>
    setPicked(shown.includes(k) ? shown.filter((x) => x !== k) : [...shown, k]);
  return (
    <Panel title="Charts" id="compare-charts" actions={<AxisPicker />}>
      <fieldset className="picker">
        <legend className="small muted">Metrics</legend>
        {keys.map((k) => (
          <label key={k} className={`chip${shown.includes(k) ? " chip-on" : ""}`}>
            <input type="checkbox" checked={shown.includes(k)} onChange={() => toggle(k)} />
            {k}
          </label>
        ))}
      </fieldset>
      <div ref={ref} className="chart-grid wide">
        {shown.length === 0 ? (
          <p className="muted">Pick a metric above to overlay the runs.</p>
        ) : (
          shown.map((key) => {
            const lines: Line[] = [];
            const colors: string[] = [];
            runs.forEach((r, i) => {
              const data = queries[i]?.data?.metrics;
              const s = data?.[key];
              const start = r.started_at ? Date.parse(r.started_at) / 1000 : undefined;
              const { xs, values } = s ? onAxis(s, axis, data?.epoch, start) : { xs: [], values: [] };
              if (xs.length) {
                lines.push({ label: `${i + 1}. ${r.name}`, steps: xs, values });
                colors.push(PALETTE[i % PALETTE.length]!);
              }
            });
            return (
              <CompareChart
                key={key}
                metric={key}
                lines={lines}
                colors={colors}
                axis={axis}
                loading={queries.some((q) => q.isPending)}
              />
            );
          })
        )}
      </div>
    </Panel>
  );
}

function CompareChart({
  metric,
  lines,
  colors,
  axis,
  loading,
}: {
  metric: string;
  lines: Line[];
  colors: string[];
  axis: XAxis;
  loading: boolean;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  return (
    <div ref={ref} className="chart-card" data-metric={metric}>
      <div className="chart-head">
        <h4>{metric}</h4>
      </div>
      {lines.length && width > 0 ? (
        <Chart
          title={metric}
          lines={lines}
          colors={colors}
          height={220}
          width={width}
          time={axis === "wall"}
          xLabel={axis === "wall" ? "time" : axisLabel(axis)}
        />
      ) : loading ? (
        <div className="chart-placeholder skeleton" />
      ) : (
        <p className="muted small">No points for {metric}.</p>
      )}
    </div>
  );
}

function ConfigDiff({ data }: { data: Compare }) {
  const [diffOnly, setDiffOnly] = useState(false);
  const rows = diffOnly ? data.config.filter((c) => c.differs) : data.config;
  const differing = data.config.filter((c) => c.differs).length;
  return (
    <Panel
      title="Config"
      id="config-diff"
      actions={
        <label className="switch">
          <input
            type="checkbox"
            checked={diffOnly}
            onChange={(e) => setDiffOnly(e.target.checked)}
            data-testid="diff-only"
          />
          <span>Only differences ({differing})</span>
        </label>
      }
    >
      {rows.length === 0 ? (
        <p className="muted">{diffOnly ? "These runs share the same config." : "No config recorded."}</p>
      ) : (
        <div className="table-wrap scroll-x">
          <table className="table matrix cards-on-phone" data-testid="config-table">
            <thead>
              <tr>
                <th scope="col">Key</th>
                {data.runs.map((r, i) => (
                  <th key={r.id} scope="col">
                    <span className="swatch" style={{ background: PALETTE[i % PALETTE.length] }} aria-hidden="true" />
                    {r.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.key} data-key={c.key} className={c.differs ? "differs" : undefined}>
                  <th scope="row">
                    <code>{c.key}</code>
                    {c.differs ? <span className="badge tone-warn small">differs</span> : null}
                  </th>
                  {data.runs.map((r) => (
                    <td key={r.id} data-label={r.name}>
                      {c.missing?.[r.id] || !(r.id in c.values) ? (
                        <Missing why={c.missing?.[r.id] ?? "no such key"} />
                      ) : (
                        <code>{fmtValue(c.values[r.id])}</code>
                      )}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
