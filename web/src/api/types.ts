// The shapes of the REST API the dashboard reads (design.md §5, briefs/contract.md).
// Fields that arrive with newer servers are optional, so that an older server still renders.

export type RunStatus =
  | "queued"
  | "starting"
  | "running"
  | "retrying"
  | "completed"
  | "failed"
  | "cancelled"
  | "pruned";

export type Goal = "min" | "max";

/** A metric value on the wire: NaN and ±inf travel as strings. */
export type Num = number | "NaN" | "Infinity" | "-Infinity" | null;

export interface Run {
  id: string;
  name: string;
  experiment: string;
  status: RunStatus;
  params: Record<string, unknown>;
  tags: string[];
  notes: string;
  early_stopped: boolean;
  stopped_at_epoch: number | null;
  progress: { epoch: number | null; total_epochs: number | null; percent: number | null };
  attempt_count: number;
  run_dir: string;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  primary_metric: string | null;
  metric_goals: Record<string, Goal>;
  metrics: Record<string, Num>;
  reason: string | null;
  priority?: number;
  best?: Num;
  best_step?: number | null;
  depends_on?: string[];
  environment?: RunEnvironment | null;
}

/** A job's executable, cwd and environment as submitted (secrets masked by the server). */
export interface RunEnvironment {
  executable: string | null;
  cwd: string | null;
  captured: Record<string, string>;
  added: Record<string, string>;
  clean: boolean;
}

export interface RunList {
  runs: Run[];
  next_cursor: string | null;
}

export interface Experiment {
  id: number;
  name: string;
  description: string;
  created_at: string;
  run_count: number;
  archived_at?: string | null;
}

export interface Progress {
  epoch: number | null;
  total_epochs: number | null;
  percent: number | null;
  eta_s: number | null;
  early_stopped: boolean;
  stopped_at_epoch: number | null;
  recent: { key: string; steps: number[]; values: Num[] } | null;
}

export interface Attempt {
  number: number;
  status: string;
  exit_code: number | null;
  signal: number | null;
  started_at: string | null;
  ended_at: string | null;
  reason: string | null;
  pid?: number | null;
  gpus?: number[];
  backend?: string;
}

export interface MetricSummary {
  count: number;
  last: Num;
  last_step: number | null;
  min: Num;
  max: Num;
  best: Num;
  best_step: number | null;
  goal: Goal | null;
}

export interface Summary {
  metrics: Record<string, MetricSummary>;
  primary_metric: string | null;
  duration_s: number | null;
  steps: number | null;
  epochs: number | null;
  early_stopped: boolean;
  stopped_at_epoch: number | null;
}

export interface Series {
  steps: number[];
  values: Num[];
  timestamps: number[];
}

export interface Metrics {
  metrics: Record<string, Series>;
}

export interface ChecklistItem {
  name: string;
  status: "PASS" | "FAIL";
  detail: string;
  hint: string;
  glob?: string | null;
}

export interface Checklist {
  run_id: string;
  final: boolean;
  items: ChecklistItem[];
}

export interface LogChunk {
  attempt: number | null;
  text: string;
  offset: number;
  size: number;
  ended: boolean;
}

export interface Checkpoint {
  name: string;
  path: string;
  attempt: number | null;
  step: number | null;
  epoch: number | null;
  size: number;
  sha256: string;
  metrics: Record<string, Num>;
  created_at: string;
  exists?: boolean;
}

export interface ArtifactFile {
  path: string;
  size: number;
  modified_at?: string | null;
  kind?: "log" | "checkpoint" | "artifact" | "other";
  registered?: boolean;
  sha256?: string | null;
}

export interface ArtifactTree {
  root: string | null;
  total_bytes: number;
  files: ArtifactFile[];
}

export interface CompareMetric {
  key: string;
  goal: Goal | null;
  values: Record<string, Num>;
  best_run_id: string | null;
  deltas: Record<string, number | null>;
  missing?: Record<string, string>; // run id → why there is no value (newer servers)
}

export interface Compare {
  runs: Run[];
  baseline: string | null;
  config: {
    key: string;
    values: Record<string, unknown>;
    differs: boolean;
    missing?: Record<string, string>;
  }[];
  metrics: CompareMetric[];
}

export type Counts = {
  active: number;
  queued: number;
  completed: number;
  failed: number;
  cancelled?: number; // newer servers count cancelled and pruned apart from failed
  pruned?: number;
};

export interface Queue {
  counts: Counts;
  active: Run[];
  queued: Run[];
  completed: Run[];
  failed: Run[];
  cancelled?: Run[];
  pruned?: Run[];
}

export type Health = "healthy" | "warning" | "critical";

export interface SystemInfo {
  status: Health;
  ts: string;
  uptime_s: number;
  cpu: { percent: number; count: number; load: number[]; status: Health };
  memory: { total: number; used: number; available: number; percent: number; status: Health };
  disk: { path: string; total: number; used: number; free: number; percent: number; status: Health };
  gpus: {
    index: number;
    name: string;
    memory_used: number;
    memory_total: number;
    utilization: number | null;
    temperature: number | null;
    status: Health;
    memory_errors?: number | null; // uncorrected ECC errors (newer servers)
  }[];
  cluster?: ClusterInfo | null; // the Ray backend's cluster (null on the local backend)
  backends?: string[]; // what a job's `backend` may name, the server's default first
}

export interface ClusterInfo {
  address: string;
  reachable: boolean;
  error: string | null;
  nodes: { node_id: string; ip: string; head: boolean; cpus: number; gpus: number }[];
  cpus: number;
  gpus: number;
  free_cpus: number;
  free_gpus: number;
}

export interface ValidationBrief {
  status: "ok" | "warnings" | "errors";
  errors: number;
  warnings: number;
}

export interface Dataset {
  name: string;
  description: string;
  created_at: string;
  latest: string | null;
  version_count: number;
}

export interface DatasetVersion {
  dataset?: string;
  version: string;
  parent: string | null;
  steps: { op: string; [arg: string]: unknown }[] | null;
  created_at: string;
  file_count: number;
  total_bytes: number;
  layout: { kind?: string; [fact: string]: unknown } | string | null;
  counts: Record<string, Record<string, number>>;
  validation: ValidationBrief | null;
  source?: string | null;
}

export interface DatasetDetail extends Dataset {
  versions: DatasetVersion[];
}

export interface ReportIssue {
  check: string;
  message: string;
  files?: string[];
  count?: number;
  hint?: string;
  [extra: string]: unknown;
}

export interface ValidationReport {
  status: "ok" | "warnings" | "errors";
  errors: ReportIssue[];
  warnings: ReportIssue[];
  counts?: Record<string, Record<string, number>>;
  leaked_ids?: string[];
}

export interface DatasetVersionDetail extends DatasetVersion {
  path?: string;
  manifest?: {
    sha256: string;
    file_count: number;
    total_bytes: number;
    extensions: Record<string, number>;
    truncated: boolean;
  };
  report: ValidationReport | null;
  runs?: { id: string; name: string; status: string }[];
}

/** One event of `/api/events`. */
export interface LiveEvent {
  id: number;
  ts: string;
  kind: string;
  run_id?: string | null;
  status?: RunStatus;
  reason?: string | null;
  epoch?: number | null;
  total_epochs?: number | null;
  percent?: number | null;
  eta_s?: number | null;
  keys?: string[];
  step?: number | null;
  counts?: Counts;
  name?: string;
  deleted?: boolean;
}
