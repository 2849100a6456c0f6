// Every metric of a run, one chart per key, grouped by prefix (train/, val/, system/…).
// Each chart reads about as many points as it is wide; a zoom reads that step range again at
// full detail.

import { useMemo, useState } from "react";
import { useFirstChart, useMetrics, useSummary } from "../../api/hooks";
import type { Run, Series } from "../../api/types";
import { fmtNumber, groupKeys, isTerminal } from "../../lib/format";
import { pointsFor, useWidth } from "../../lib/hooks";
import { axisLabel, onAxis, useXAxis, type XAxis } from "../../lib/xaxis";
import { AxisPicker } from "../AxisPicker";
import { Chart, type Line } from "../Chart";
import { Empty, ErrorState, Panel } from "../States";

export function RunCharts({ run }: { run: Run }) {
  const signature = Object.keys(run.metrics).join("\n"); // new keys regroup; new values do not
  const groups = useMemo(() => groupKeys(signature ? signature.split("\n") : []), [signature]);
  const keys = signature ? signature.split("\n") : [];
  const [axis] = useXAxis();
  const hasEpochs = keys.includes("epoch");
  const epochs = useMetrics(run.id, { keys: ["epoch"], maxPoints: 4000 }, axis === "epoch" && hasEpochs, !isTerminal(run.status));
  const start = run.started_at ? Date.parse(run.started_at) / 1000 : undefined;
  return (
    <Panel title="Charts" id="charts" actions={keys.length ? <AxisPicker /> : undefined}>
      {keys.length === 0 ? (
        <Empty title="No metrics yet" icon="∿">
          <p>
            Charts appear here as soon as the run logs a metric (
            <code>run.log(&#123;"train/loss": 0.3&#125;)</code>).
          </p>
        </Empty>
      ) : (
        groups.map(([group, groupKeys]) => (
          <section key={group} className="chart-group" aria-label={`${group} metrics`}>
            <h3 className="group-title">
              {group === "other" ? "other" : `${group}/`}{" "}
              <span className="muted small">{groupKeys.length}</span>
            </h3>
            <div className="chart-grid">
              {groupKeys.map((key) => (
                <ChartCard
                  key={key}
                  runId={run.id}
                  metric={key}
                  last={run.metrics[key]}
                  active={!isTerminal(run.status)}
                  axis={axis}
                  epochs={epochs.data?.metrics.epoch}
                  start={start}
                />
              ))}
            </div>
          </section>
        ))
      )}
    </Panel>
  );
}

function ChartCard({
  runId,
  metric,
  last,
  active,
  axis,
  epochs,
  start,
}: {
  runId: string;
  metric: string;
  last: Run["metrics"][string] | undefined;
  active: boolean;
  axis: XAxis;
  epochs?: Series;
  start?: number;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const [zoom, setZoom] = useState<[number, number] | null>(null);
  const summary = useSummary(runId);
  const total = summary.data?.metrics[metric]?.count;
  const latest = summary.data?.metrics[metric]?.last ?? last;
  const maxPoints = pointsFor(width);
  const data = useMetrics(
    runId,
    { keys: [metric], start: zoom?.[0], end: zoom?.[1], maxPoints },
    width > 0,
    active,
  );
  const first = useFirstChart(runId, metric);
  const series = data.data?.metrics[metric] ?? (zoom ? undefined : first.data?.metrics[metric]);
  // system/* (the job's CPU, memory) is a function of time, not of training steps: it stays
  // on time (wall, or relative when that is picked) whatever the axis of the other charts.
  const system = metric.startsWith("system/") && Boolean(series?.timestamps?.length);
  const x: XAxis = system ? (axis === "relative" ? "relative" : "wall") : axis;
  const lines: Line[] = useMemo(() => {
    if (!series) return [];
    const { xs, values } = onAxis(series, x, epochs, start);
    return xs.length ? [{ label: metric, steps: xs, values }] : [];
  }, [series, metric, x, epochs, start]);
  const wall = x === "wall";
  return (
    <div className="chart-card" data-metric={metric} ref={ref}>
      <div className="chart-head">
        <h4 title={metric}>{metric}</h4>
        <span className="muted small tabular">
          {fmtNumber(latest)}
          {total != null ? ` · ${total.toLocaleString()} pts` : ""}
        </span>
      </div>
      {zoom ? (
        <div className="zoom-note small">
          steps {Math.floor(zoom[0]).toLocaleString()}–{Math.ceil(zoom[1]).toLocaleString()}
          <button type="button" className="btn btn-small btn-ghost" onClick={() => setZoom(null)}>
            Reset zoom
          </button>
        </div>
      ) : null}
      {data.data === undefined && data.isError ? (
        <ErrorState error={data.error} what="Metric" retry={() => void data.refetch()} />
      ) : lines.length ? (
        <Chart
          title={metric}
          lines={lines}
          onZoom={x === "step" ? setZoom : undefined}
          height={180}
          width={width}
          time={wall}
          xLabel={wall ? "time" : axisLabel(x)}
        />
      ) : x === "epoch" && series ? (
        <p className="muted small">No epochs logged: pass <code>epoch=</code> to <code>run.log</code>.</p>
      ) : (
        <div className="chart-placeholder skeleton" aria-label="Loading chart" />
      )}
    </div>
  );
}
