// The run's config (its params); its notes have their own panel (Labels.tsx).

import type { Run, RunEnvironment } from "../../api/types";
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
      {run.environment ? <Environment env={run.environment} /> : null}
      <p className="muted small path-line">
        <span>Run dir</span> <code>{run.run_dir}</code>
      </p>
    </Panel>
  );
}

// What the job was started with: the submitter's executable, directory and variables.
function Environment({ env }: { env: RunEnvironment }) {
  const rows: [string, string, string][] = [
    ["executable", env.executable ?? "looked up on the server's PATH", ""],
    ["working directory", env.cwd ?? "the server's", ""],
    ...Object.entries(env.captured).map(([k, v]): [string, string, string] => [k, v, "your shell"]),
    ...Object.entries(env.added).map(([k, v]): [string, string, string] => [k, v, "--env"]),
  ];
  return (
    <section aria-label="Environment" data-testid="environment">
      <h3 className="group-title">Environment</h3>
      {env.clean ? (
        <p className="muted small">--clean-env: nothing was taken from the submitter's shell.</p>
      ) : null}
      <dl className="kv">
        {rows.map(([k, v, from]) => (
          <div key={k} className="kv-row" title={from ? `from ${from}` : undefined}>
            <dt>{k}</dt>
            <dd>
              <code>{v}</code>
              {from ? <span className="muted small"> ({from})</span> : null}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
