// Every metric of a run, one chart per key, grouped by prefix (train/, val/, system/…).
// Each chart reads about as many points as it is wide; a zoom reads that step range again at
// full detail.

import { useMemo, useState } from "react";
import { useFirstChart, useMetrics, useSummary } from "../../api/hooks";
import type { Run } from "../../api/types";
import { fmtNumber, groupKeys, isTerminal } from "../../lib/format";
import { pointsFor, useWidth } from "../../lib/hooks";
import { Chart, type Line } from "../Chart";
import { Empty, ErrorState, Panel } from "../States";

export function RunCharts({ run }: { run: Run }) {
  const signature = Object.keys(run.metrics).join("\n"); // new keys regroup; new values do not
  const groups = useMemo(() => groupKeys(signature ? signature.split("\n") : []), [signature]);
  const keys = signature ? signature.split("\n") : [];
  return (
    <Panel title="Charts" id="charts">
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
}: {
  runId: string;
  metric: string;
  last: Run["metrics"][string] | undefined;
  active: boolean;
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
  // system/* (the job's CPU, memory) is a function of time, not of training steps.
  const wall = metric.startsWith("system/") && Boolean(series?.timestamps?.length);
  const lines: Line[] = useMemo(
    () =>
      series
        ? [{ label: metric, steps: wall ? series.timestamps! : series.steps, values: series.values }]
        : [],
    [series, metric, wall],
  );
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
          onZoom={wall ? undefined : setZoom}
          height={180}
          width={width}
          time={wall}
        />
      ) : (
        <div className="chart-placeholder skeleton" aria-label="Loading chart" />
      )}
    </div>
  );
}
