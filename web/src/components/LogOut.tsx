// "Log out", shown only to a browser that logged in with a session cookie (a server with a
// token); a server without one, or a bearer token, has nothing to end.

import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";

type Session = { auth: "cookie" | "bearer" | "none"; expires_at: number | null };

export function LogOut() {
  const session = useQuery({
    queryKey: ["session"],
    queryFn: () => api.get<Session>("/api/session"),
    staleTime: 60_000,
    retry: false,
  });
  if (session.data?.auth !== "cookie") return null;
  const logOut = async () => {
    try {
      await api.del("/api/session");
    } finally {
      window.location.assign("/login");
    }
  };
  return (
    <button type="button" className="logout" onClick={() => void logOut()}>
      Log out
    </button>
  );
}
