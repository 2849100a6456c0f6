// What a run logged besides numbers: images (per key, with a step slider) and texts (a table).

import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, enc } from "../../api/client";
import type { Run } from "../../api/types";
import { Panel } from "../States";

interface MediaImage {
  key: string;
  step: number;
  path: string;
  caption?: string | null;
}
interface MediaText {
  key: string;
  step: number;
  text: string;
}
interface Media {
  texts: MediaText[];
  images: MediaImage[];
}

function useMedia(id: string) {
  return useQuery({
    queryKey: ["media", id],
    queryFn: () => api.get<Media>(`/api/runs/${enc(id)}/media`),
  });
}

function ImageKey({ run, images }: { run: Run; images: MediaImage[] }) {
  const [index, setIndex] = useState(images.length - 1);
  const shown = images[Math.min(index, images.length - 1)]!;
  const key = shown.key;
  return (
    <figure className="media-image" data-media-key={key}>
      <figcaption className="row between gap">
        <code>{key}</code>
        <span className="muted small tabular" data-testid="media-step">
          step {shown.step}
        </span>
      </figcaption>
      <img
        src={`/api/runs/${enc(run.id)}/artifacts/${shown.path.split("/").map(enc).join("/")}`}
        alt={shown.caption ?? `${key} at step ${shown.step}`}
      />
      {shown.caption ? <p className="muted small">{shown.caption}</p> : null}
      {images.length > 1 ? (
        <input
          type="range"
          min={0}
          max={images.length - 1}
          value={Math.min(index, images.length - 1)}
          aria-label={`Step of ${key}`}
          onChange={(e) => setIndex(Number(e.target.value))}
        />
      ) : null}
    </figure>
  );
}

export function MediaPanel({ run }: { run: Run }) {
  const media = useMedia(run.id);
  const data = media.data;
  if (!data || (data.images.length === 0 && data.texts.length === 0)) return null;
  const byKey = new Map<string, MediaImage[]>();
  for (const img of data.images) byKey.set(img.key, [...(byKey.get(img.key) ?? []), img]);
  return (
    <Panel title="Media" id="media">
      {byKey.size > 0 ? (
        <div className="media-grid">
          {[...byKey.entries()].map(([key, images]) => (
            <ImageKey key={key} run={run} images={images} />
          ))}
        </div>
      ) : null}
      {data.texts.length > 0 ? (
        <div className="table-wrap">
          <table className="table" data-testid="media-texts">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Step</th>
                <th scope="col">Text</th>
              </tr>
            </thead>
            <tbody>
              {data.texts.map((t, i) => (
                <tr key={`${t.key}-${t.step}-${i}`}>
                  <td>
                    <code>{t.key}</code>
                  </td>
                  <td className="tabular">{t.step}</td>
                  <td className="pre-wrap">{t.text}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Panel>
  );
}
