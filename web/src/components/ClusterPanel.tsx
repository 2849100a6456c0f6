// The Ray cluster jobs run on (a server started with --backend ray): whether Ray answers,
// its live nodes, and what runyard's queue has left of its CPUs and GPUs.

import { useSystem } from "../api/hooks";
import type { ClusterInfo } from "../api/types";
import { Panel } from "./States";

export function ClusterPanel() {
  const system = useSystem();
  const cluster = system.data?.cluster;
  if (cluster == null) return null; // the local backend: the System panel says it all
  return (
    <Panel
      title="Ray cluster"
      id="cluster"
      actions={
        <span className={`badge tone-${cluster.reachable ? "ok" : "bad"}`} data-testid="ray-reachable">
          {cluster.reachable ? "reachable" : "unreachable"}
        </span>
      }
    >
      <ClusterBody c={cluster} backends={system.data?.backends ?? []} />
    </Panel>
  );
}

function ClusterBody({ c, backends }: { c: ClusterInfo; backends: string[] }) {
  return (
    <div data-testid="cluster">
      <p className="muted small">
        <code>{c.address}</code>
        {backends.length > 1 ? ` · jobs may also ask for: ${backends.slice(1).join(", ")}` : ""}
      </p>
      {c.error ? <p className="small tone-bad" data-testid="cluster-error">{c.error}</p> : null}
      <div className="cards">
        <div className="card" data-meter="Nodes">
          <span className="card-label">Nodes</span>
          <div className="card-value tabular">{c.nodes.length}</div>
        </div>
        <div className="card" data-meter="Cluster CPUs">
          <span className="card-label">CPUs free</span>
          <div className="card-value tabular">
            {c.free_cpus} / {c.cpus}
          </div>
        </div>
        <div className="card" data-meter="Cluster GPUs">
          <span className="card-label">GPUs free</span>
          <div className="card-value tabular">
            {c.free_gpus} / {c.gpus}
          </div>
        </div>
      </div>
      {c.nodes.length > 0 ? (
        <table className="table" data-testid="cluster-nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>IP</th>
              <th>Role</th>
              <th className="num">CPUs</th>
              <th className="num">GPUs</th>
            </tr>
          </thead>
          <tbody>
            {c.nodes.map((n) => (
              <tr key={n.node_id}>
                <td>
                  <code title={n.node_id}>{n.node_id.slice(0, 12)}</code>
                </td>
                <td>{n.ip}</td>
                <td>{n.head ? "head" : "worker"}</td>
                <td className="num tabular">{n.cpus}</td>
                <td className="num tabular">{n.gpus}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
