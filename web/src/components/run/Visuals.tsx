// Saliency galleries (GET /api/runs/{id}/visuals): per method, image / map / overlay with an
// opacity slider, each image's saliency-in-ROI score, sorting by score, lazy thumbnails.

import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { api, enc } from "../../api/client";
import { ErrorState, Loading, Panel } from "../States";

interface VisualImage {
  id: string;
  image: string;
  map: string;
  overlay: string;
  roi_score?: number | null;
  roi_share?: number | null;
  label?: number | string;
}
interface Gallery {
  count: number;
  mean_roi_score: number | null;
  mean_roi_share: number | null;
  images: VisualImage[];
}

const PAGE = 60;

function src(runId: string, path: string): string {
  if (path.startsWith("/api/")) return path; // another run's file (an evaluation job's)
  return `/api/runs/${enc(runId)}/artifacts/${path.split("/").map(enc).join("/")}`;
}

function GalleryView({ runId, method, g }: { runId: string; method: string; g: Gallery }) {
  const [opacity, setOpacity] = useState(0.6);
  const [sort, setSort] = useState<"none" | "desc" | "asc">("none");
  const [shown, setShown] = useState(PAGE);
  const images = useMemo(() => {
    if (sort === "none") return g.images;
    const sign = sort === "desc" ? -1 : 1;
    return [...g.images].sort((a, b) => sign * ((a.roi_score ?? -1) - (b.roi_score ?? -1)));
  }, [g.images, sort]);
  const lift =
    g.mean_roi_score != null && g.mean_roi_share ? g.mean_roi_score / g.mean_roi_share : null;
  return (
    <div className="gallery" data-method={method}>
      <h3>
        {method} <span className="muted small">{g.count} images</span>
      </h3>
      {g.mean_roi_score != null ? (
        <p data-testid="roi-mean">
          Saliency in ROI: <strong className="tabular">{(g.mean_roi_score * 100).toFixed(1)}%</strong>{" "}
          <span className="muted">
            (the ROI is {((g.mean_roi_share ?? 0) * 100).toFixed(1)}% of the image; a uniform map
            would score that{lift ? `; this is ${lift.toFixed(1)}×` : ""})
          </span>
        </p>
      ) : null}
      <div className="gallery-controls">
        <label>
          Overlay opacity{" "}
          <input
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={opacity}
            aria-label="Overlay opacity"
            onChange={(e) => setOpacity(Number(e.target.value))}
          />
        </label>
        <label>
          Sort{" "}
          <select value={sort} aria-label="Sort by score" onChange={(e) => setSort(e.target.value as typeof sort)}>
            <option value="none">as logged</option>
            <option value="desc">score, highest first</option>
            <option value="asc">score, lowest first</option>
          </select>
        </label>
      </div>
      <ul className="gallery-grid">
        {images.slice(0, shown).map((im) => (
          <li key={im.id} className="gallery-item" data-id={im.id}>
            <div className="gallery-stack">
              <img src={src(runId, im.image)} alt={`image ${im.id}`} loading="lazy" width={128} height={128} />
              <img
                className="gallery-over"
                src={src(runId, im.map)}
                alt=""
                loading="lazy"
                style={{ opacity }}
                width={128}
                height={128}
              />
            </div>
            <div className="small">
              <span>{im.id}</span>{" "}
              {im.roi_score != null ? (
                <span className="tabular" data-testid="roi-score">
                  {(im.roi_score * 100).toFixed(0)}%
                </span>
              ) : null}
            </div>
          </li>
        ))}
      </ul>
      {shown < images.length ? (
        <button type="button" className="btn" onClick={() => setShown(shown + PAGE * 4)}>
          Show more ({images.length - shown} left)
        </button>
      ) : null}
    </div>
  );
}

export function VisualsPanel({ runId }: { runId: string }) {
  const q = useQuery({
    queryKey: ["visuals", runId],
    queryFn: () =>
      api.get<{ methods: Record<string, Gallery> }>(`/api/runs/${enc(runId)}/visuals`),
  });
  const methods = Object.entries(q.data?.methods ?? {});
  return (
    <Panel title="Visuals" id="visuals">
      {q.isPending ? (
        <Loading label="Loading visuals…" rows={2} />
      ) : q.error ? (
        <ErrorState error={q.error} what="Visuals" retry={() => void q.refetch()} />
      ) : methods.length === 0 ? (
        <p className="muted">No saliency maps logged (run.log_saliency).</p>
      ) : (
        methods.map(([m, g]) => <GalleryView key={m} runId={runId} method={m} g={g} />)
      )}
    </Panel>
  );
}
