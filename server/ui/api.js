// api.js — the console's only way to the server: the same JSON API every client uses, with the
// token the user typed once (kept in this tab's sessionStorage: gone when the tab closes, never
// in a cookie, so other sites cannot make the browser send it).

const TOKEN_KEY = "engram.token";

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function set_token(t) { t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY); }

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.reason = message;  // the server's message alone
  }
}

// Listeners told when the server refuses the token (the app shows the token screen again).
const on_unauthenticated = [];
export function when_unauthenticated(f) { on_unauthenticated.push(f); }

// Calls the API: call("GET", "/v1/memories"), call("POST", path, {queries: ...}). Answers the
// parsed JSON (or the text for a non-JSON answer, null for 204); throws ApiError.
export async function call(method, path, body) {
  const headers = {};
  if (token()) headers["Authorization"] = `Bearer ${token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
  });
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  const payload = type.startsWith("application/json") ? await res.json() : await res.text();
  if (!res.ok) {
    const e = payload && payload.error ? payload.error : { code: "http_error", message: String(payload) };
    if (res.status === 401) on_unauthenticated.forEach(f => f());
    throw new ApiError(res.status, e.code, e.message);
  }
  return payload;
}

// A memory name as a path segment.
export function mem_path(name, rest = "") { return `/v1/memories/${encodeURIComponent(name)}${rest}`; }
