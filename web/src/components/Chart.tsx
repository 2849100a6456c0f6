// A uPlot line chart that fills its container's width. Drag to zoom (the parent refetches that
// step range at full detail), double-click to zoom out. Series are told apart by colour *and*
// dash pattern, and named in the legend.

import { useEffect, useLayoutEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { num } from "../api/client";
import type { Num } from "../api/types";

export interface Line {
  label: string;
  steps: number[];
  values: Num[];
}

export const PALETTE = [
  "#2563eb",
  "#e8590c",
  "#0f9f6e",
  "#c2255c",
  "#7048e8",
  "#a07800",
  "#0c8599",
  "#5c7cfa",
  "#d6336c",
  "#495057",
];
const DASHES: (number[] | undefined)[] = [undefined, [6, 4], [2, 3], [10, 3, 2, 3]];

function aligned(lines: Line[]): uPlot.AlignedData {
  const numeric = lines.map((l) => {
    const ys = l.values.map((v) => {
      const n = num(v);
      return n === null || !Number.isFinite(n) ? null : n;
    });
    return [l.steps, ys] as [number[], (number | null)[]];
  });
  if (numeric.length === 1) return numeric[0] as unknown as uPlot.AlignedData;
  return uPlot.join(numeric as unknown as uPlot.AlignedData[]);
}

const COMPACT = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 });

/** An x tick: steps from 100,000 on as 100K, 1.2M; smaller ones as they are. */
function tick(v: number): string {
  return Math.abs(v) >= 1e5 ? COMPACT.format(v) : v.toLocaleString("en");
}

/** Tick spacings for an x that counts whole things (trials, steps): 1, 2, 5, 10, 20, 50… (uPlot's own
 * go on down to 0.5, 0.25, 0.1). */
const WHOLE = Array.from({ length: 16 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

// A time axis over one point in time: a minute either side of it. uPlot's own range for a
// single time value starts at it and spans 1,000 days (86400 / its ms factor, in seconds): the
// point sat on the left edge, under ticks years ahead.
const AROUND_S = 60;
function aroundOne(u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  const xs = u.data[0];
  const first = xs?.[0];
  if (first != null && first === xs?.[xs.length - 1]) return [first - AROUND_S, first + AROUND_S];
  return [min, max];
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** Marks the first chart that painted data, for benchmarks and tests. */
function markPainted(): void {
  if (performance.getEntriesByName("chart-painted").length === 0) {
    performance.mark("chart-painted");
  }
}

/** `width` comes from the caller, who measures its box anyway: measuring again here would
 * force the browser into a second layout of the whole page before the first paint. */
export function Chart({
  lines,
  width,
  height = 200,
  onZoom,
  title,
  colors,
  time = false,
  whole = false,
  xLabel,
}: {
  time?: boolean; // x is wall-clock seconds since the epoch, drawn as times of day
  whole?: boolean; // x counts whole things (trials, steps): ticks only on whole numbers
  xLabel?: string; // what x counts, named in the legend
  lines: Line[];
  width: number;
  height?: number;
  onZoom?: (range: [number, number] | null) => void;
  title: string;
  colors?: string[];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  const shape = lines.map((l) => l.label).join("\u0000") + `|${colors?.join(",") ?? ""}`;
  const points = lines.reduce((n, l) => n + l.steps.length, 0);

  // Build the plot when its shape changes (before the browser paints: no empty frame); later
  // data only goes through setData.
  useLayoutEffect(() => {
    const el = box.current;
    const w = Math.floor(width);
    if (!el || w <= 0) return;
    const axis = cssVar("--muted", "#6b7280");
    const grid = cssVar("--grid", "rgba(0,0,0,0.07)");
    const opts: uPlot.Options = {
      width: w,
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
      scales: { x: { time, range: time ? aroundOne : undefined } },
      axes: [
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          // uPlot's times of day carry the date on a second line (at the first tick, and where
          // the day changes): 34 px cut it in half.
          size: time ? 50 : 34,
          // Step counts of a long run ("1,200,000") ran into each other: 1.2M reads better.
          values: time ? undefined : (_u: uPlot, splits: number[]) => splits.map(tick),
          incrs: whole ? WHOLE : undefined,
        },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 56 },
      ],
      series: [
        { label: xLabel ?? (time ? "time" : "step") },
        ...lines.map((l, i) => ({
          label: l.label,
          stroke: colors?.[i] ?? PALETTE[i % PALETTE.length],
          width: 1.6,
          dash: lines.length > 1 ? DASHES[i % DASHES.length] : undefined,
          spanGaps: true,
        })),
      ],
      hooks: {
        draw: [
          (u) => {
            if ((u.data[0]?.length ?? 0) > 0) markPainted();
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width > 2 && zoomRef.current) {
              const min = u.posToVal(u.select.left, "x");
              const max = u.posToVal(u.select.left + u.select.width, "x");
              zoomRef.current([min, max]);
            }
          },
        ],
      },
    };
    const u = new uPlot(opts, aligned(lines), el);
    plot.current = u;
    const reset = () => zoomRef.current?.(null);
    u.over.addEventListener("dblclick", reset);
    // uPlot measures where the plot is when the pointer enters it: a page that moved under a
    // pointer already inside (a panel above it grew) would zoom to the wrong steps. Measured
    // again as a drag starts (capturing: before uPlot's own mousedown reads it).
    const measure = () => u.syncRect();
    el.addEventListener("mousedown", measure, true);
    return () => {
      el.removeEventListener("mousedown", measure, true);
      u.over.removeEventListener("dblclick", reset);
      u.destroy();
      plot.current = null;
    };
  }, [shape, height, width > 0, time, whole, xLabel]);

  useEffect(() => {
    const u = plot.current;
    const w = Math.floor(width);
    if (u && w > 0 && w !== u.width) u.setSize({ width: w, height });
  }, [width, height]);

  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false; // the plot was just built with these
      return;
    }
    plot.current?.setData(aligned(lines));
  }, [lines]);

  return (
    <figure className="chart" aria-label={`${title}: ${points} points`} data-points={points}>
      <div ref={box} className="chart-box" />
    </figure>
  );
}
