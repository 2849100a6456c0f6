// The host's recent history on the Overview: CPU, RAM, disk and each GPU's use, against
// wall-clock time, for a range the user picks (the server keeps RUNYARD_TELEMETRY_HISTORY_H).

import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, qs } from "../api/client";
import { useWidth } from "../lib/hooks";
import { Chart, type Line } from "./Chart";
import { Panel } from "./States";

interface History {
  interval_s: number;
  ts: string[];
  cpu_percent: number[];
  memory_percent: number[];
  disk_percent: number[];
  gpus: { index: number; utilization: (number | null)[]; memory_percent: (number | null)[] }[];
}

const RANGES = [
  [15, "15 min"],
  [60, "1 hour"],
  [360, "6 hours"],
  [1440, "24 hours"],
] as const;

export function HostHistoryPanel() {
  const [minutes, setMinutes] = useState(60);
  const [ref, width] = useWidth<HTMLDivElement>();
  const history = useQuery({
    queryKey: ["system-history", minutes],
    queryFn: () => api.get<History>(`/api/system/history${qs({ minutes })}`),
    refetchInterval: 10_000,
  });
  const h = history.data;
  const xs = h ? h.ts.map((t) => Date.parse(t) / 1000) : [];
  const lines: Line[] = h
    ? [
        { label: "CPU %", steps: xs, values: h.cpu_percent },
        { label: "RAM %", steps: xs, values: h.memory_percent },
        { label: "Disk %", steps: xs, values: h.disk_percent },
        ...h.gpus.map((g) => ({ label: `GPU ${g.index} %`, steps: xs, values: g.utilization })),
      ]
    : [];
  return (
    <Panel
      title="Host history"
      id="host-history"
      actions={
        <label className="field inline">
          <span className="muted small">Range</span>
          <select
            value={minutes}
            data-testid="history-range"
            onChange={(e) => setMinutes(Number(e.target.value))}
          >
            {RANGES.map(([m, label]) => (
              <option key={m} value={m}>
                {label}
              </option>
            ))}
          </select>
        </label>
      }
    >
      <div ref={ref} data-testid="host-history">
        {xs.length === 0 ? (
          <p className="muted">No samples yet: the server samples the host every few seconds.</p>
        ) : (
          <Chart title="Host history" lines={lines} width={width} height={180} time />
        )}
      </div>
    </Panel>
  );
}
