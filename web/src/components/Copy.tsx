// Copy a text to the clipboard, saying so for a moment.

import { useState } from "react";

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState<"" | "ok" | "fail">("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("ok");
    } catch {
      setDone("fail");
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
