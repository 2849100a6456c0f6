// Pipelines: runs linked by `depends_on`, drawn as graphs (one per connected set), each node
// coloured by status and labelled with it.

import { useMemo } from "react";
import { Link } from "react-router";
import { usePipelineRuns } from "../api/hooks";
import type { Run } from "../api/types";
import { statusTone } from "../components/Status";
import { Empty, ErrorState, Loading, Panel } from "../components/States";
import { runPercent } from "../lib/format";
import { useMediaQuery, useTitle } from "../lib/hooks";

const ICON: Record<string, string> = {
  queued: "◷",
  starting: "↻",
  running: "▶",
  retrying: "↺",
  completed: "✓",
  failed: "✕",
  cancelled: "⊘",
  pruned: "✂",
};

interface Node {
  id: string;
  run: Run | null; // null: a dependency older than the runs loaded
  deps: string[];
  layer: number;
  order: number;
}

interface Graph {
  nodes: Node[];
  edges: [string, string][];
  layers: number;
}

export function buildGraphs(runs: Run[]): Graph[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const linked = new Set<string>();
  const edges: [string, string][] = [];
  for (const r of runs) {
    for (const d of r.depends_on ?? []) {
      linked.add(r.id);
      linked.add(d);
      edges.push([d, r.id]);
    }
  }
  // Connected sets, by union-find.
  const parent = new Map<string, string>([...linked].map((id) => [id, id]));
  const find = (x: string): string => {
    let p = parent.get(x)!;
    while (p !== parent.get(p)) p = parent.get(p)!;
    parent.set(x, p);
    return p;
  };
  for (const [a, b] of edges) parent.set(find(a), find(b));
  const sets = new Map<string, string[]>();
  for (const id of linked) sets.set(find(id), [...(sets.get(find(id)) ?? []), id]);

  const deps = (id: string) => byId.get(id)?.depends_on ?? [];
  const layerOf = new Map<string, number>();
  const layer = (id: string, seen: Set<string>): number => {
    const known = layerOf.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // a cycle: the server refuses them, but never loop
    seen.add(id);
    const ds = deps(id);
    const l = ds.length ? 1 + Math.max(...ds.map((d) => layer(d, seen))) : 0;
    layerOf.set(id, l);
    return l;
  };

  const graphs: Graph[] = [];
  for (const ids of sets.values()) {
    const nodes: Node[] = ids.map((id) => ({
      id,
      run: byId.get(id) ?? null,
      deps: deps(id),
      layer: layer(id, new Set()),
      order: 0,
    }));
    const layers = Math.max(...nodes.map((n) => n.layer)) + 1;
    const pos = new Map<string, number>();
    for (let l = 0; l < layers; l++) {
      const inLayer = nodes.filter((n) => n.layer === l);
      const key = (n: Node) =>
        n.deps.length ? n.deps.reduce((s, d) => s + (pos.get(d) ?? 0), 0) / n.deps.length : 0;
      inLayer.sort((a, b) => key(a) - key(b) || (a.run?.created_at ?? "").localeCompare(b.run?.created_at ?? ""));
      inLayer.forEach((n, i) => {
        n.order = i;
        pos.set(n.id, i);
      });
    }
    const set = new Set(ids);
    graphs.push({ nodes, edges: edges.filter(([a]) => set.has(a)), layers });
  }
  const newest = (g: Graph) =>
    g.nodes.reduce((m, n) => (n.run && n.run.created_at > m ? n.run.created_at : m), "");
  return graphs.sort((a, b) => newest(b).localeCompare(newest(a)));
}

export function PipelinesPage() {
  useTitle("Pipelines");
  const runs = usePipelineRuns();
  const graphs = useMemo(() => (runs.data ? buildGraphs(runs.data) : []), [runs.data]);
  return (
    <div className="page page-pipelines">
      <h1>Pipelines</h1>
      {runs.isPending ? (
        <Loading rows={4} />
      ) : runs.data === undefined && runs.isError ? (
        <ErrorState error={runs.error} what="Pipelines" retry={() => void runs.refetch()} />
      ) : graphs.length === 0 ? (
        <Empty title="No pipelines yet" icon="⛓">
          <p>
            A job that names others in <code>depends_on</code> waits for them to complete; such
            runs show up here as a graph. For example:{" "}
            <code>runyard submit --depends-on RUN_ID -- python evaluate.py</code>
          </p>
        </Empty>
      ) : (
        graphs.map((g, i) => <PipelineGraph key={i} graph={g} />)
      )}
    </div>
  );
}

function PipelineGraph({ graph }: { graph: Graph }) {
  const vertical = useMediaQuery("(max-width: 720px)");
  const W = vertical ? 150 : 190;
  const H = 54;
  const GX = vertical ? 18 : 64;
  const GY = vertical ? 48 : 18;
  const breadth = Math.max(...graph.nodes.map((n) => n.order)) + 1;
  const at = (n: Node) =>
    vertical
      ? { x: n.order * (W + GX), y: n.layer * (H + GY) }
      : { x: n.layer * (W + GX), y: n.order * (H + GY) };
  const width = vertical ? breadth * (W + GX) - GX : graph.layers * (W + GX) - GX;
  const height = vertical ? graph.layers * (H + GY) - GY : breadth * (H + GY) - GY;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const done = graph.nodes.filter((n) => n.run?.status === "completed").length;
  const last = graph.nodes.filter((n) => n.layer === graph.layers - 1).map((n) => n.run?.name ?? n.id);
  const pad = 8;

  return (
    <Panel
      title={last.join(", ")}
      className="pipeline"
      actions={
        <span className="muted small">
          {done}/{graph.nodes.length} completed · {graph.layers} stage{graph.layers === 1 ? "" : "s"}
        </span>
      }
    >
      <div className="scroll-x">
        <svg
          className="graph"
          width={width + 2 * pad}
          height={height + 2 * pad}
          viewBox={`${-pad} ${-pad} ${width + 2 * pad} ${height + 2 * pad}`}
          role="group"
          aria-label="Pipeline graph"
        >
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" className="edge-head" />
            </marker>
          </defs>
          {graph.edges.map(([a, b]) => {
            const s = byId.get(a);
            const t = byId.get(b);
            if (!s || !t) return null;
            const p = at(s);
            const q = at(t);
            const d = vertical
              ? `M ${p.x + W / 2} ${p.y + H} C ${p.x + W / 2} ${p.y + H + GY / 2}, ${q.x + W / 2} ${q.y - GY / 2}, ${q.x + W / 2} ${q.y - 2}`
              : `M ${p.x + W} ${p.y + H / 2} C ${p.x + W + GX / 2} ${p.y + H / 2}, ${q.x - GX / 2} ${q.y + H / 2}, ${q.x - 2} ${q.y + H / 2}`;
            const waiting = s.run?.status !== "completed";
            return (
              <path
                key={`${a}-${b}`}
                d={d}
                className={`edge${waiting ? " edge-wait" : ""}`}
                markerEnd="url(#arrow)"
              />
            );
          })}
          {graph.nodes.map((n) => {
            const { x, y } = at(n);
            const status = n.run?.status ?? "unknown";
            const tone = n.run ? statusTone(status) : "muted";
            const name = n.run?.name ?? n.id;
            const label = name.length > 22 ? `${name.slice(0, 21)}…` : name;
            const body = (
              <g transform={`translate(${x} ${y})`} className={`node tone-${tone}`} data-run-id={n.id} data-status={status}>
                <rect width={W} height={H} rx={8} className="node-box" />
                <rect width={5} height={H} rx={2} className="node-stripe" />
                <text x={14} y={22} className="node-name">
                  {label}
                </text>
                <text x={14} y={41} className="node-status">
                  {ICON[status] ?? "?"} {n.run ? status : "not loaded"}
                  {n.run && status !== "completed" && runPercent(n.run) > 0 ? ` · ${Math.floor(runPercent(n.run))}%` : ""}
                </text>
                <title>{`${name}: ${status}`}</title>
              </g>
            );
            return n.run ? (
              <Link key={n.id} to={`/runs/${n.id}`} aria-label={`${name}, ${status}`}>
                {body}
              </Link>
            ) : (
              <g key={n.id}>{body}</g>
            );
          })}
        </svg>
      </div>
    </Panel>
  );
}
