// The x-axis of every chart: step, epoch, relative time or wall time (see lib/xaxis.ts).

import { useXAxis, X_AXES, type XAxis } from "../lib/xaxis";

export function AxisPicker() {
  const [axis, setAxis] = useXAxis();
  return (
    <label className="row gap small">
      <span className="muted">x-axis</span>
      <select
        value={axis}
        onChange={(e) => setAxis(e.target.value as XAxis)}
        data-testid="x-axis"
        aria-label="x-axis of the charts"
      >
        {X_AXES.map((a) => (
          <option key={a.value} value={a.value}>
            {a.label}
          </option>
        ))}
      </select>
    </label>
  );
}
