// The run's config (its params); its notes have their own panel (Labels.tsx).

import type { Run } from "../../api/types";
import { fmtValue } from "../../lib/format";
import { Panel } from "../States";

export function ConfigPanel({ run }: { run: Run }) {
  const entries = Object.entries(run.params).sort(([a], [b]) => a.localeCompare(b));
  return (
    <Panel title="Config" id="config">
      {entries.length === 0 ? (
        <p className="muted">This run recorded no config.</p>
      ) : (
        <dl className="kv">
          {entries.map(([k, v]) => (
            <div key={k} className="kv-row">
              <dt>{k}</dt>
              <dd>
                <code>{fmtValue(v)}</code>
              </dd>
            </div>
          ))}
        </dl>
      )}
      <p className="muted small path-line">
        <span>Run dir</span> <code>{run.run_dir}</code>
      </p>
    </Panel>
  );
}
