// Copy a text to the clipboard, saying so for a moment.

import { useState } from "react";

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState<"" | "ok" | "fail">("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("ok");
    } catch {
      setDone(legacyCopy(text) ? "ok" : "fail"); // no Clipboard API off localhost without TLS
    }
    setTimeout(() => setDone(""), 1500);
  };
  return (
    <button
      type="button"
      className="btn btn-small btn-ghost"
      onClick={copy}
      title={`Copy ${text}`}
      aria-label={`${label}: ${text}`}
    >
      {done === "ok" ? "Copied ✓" : done === "fail" ? "Select & copy" : label}
    </button>
  );
}

function legacyCopy(text: string): boolean {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    area.remove();
  }
}
