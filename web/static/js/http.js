// JSON calls to the hall's API with the session's CSRF token; errors carry the server's code.
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.fields = body?.error?.fields ?? {};
    this.details = body?.error ?? {}; // extra members, e.g. the candidates of repeat_candidates
  }
}

// `body`: an object sent as JSON, or a FormData sent as multipart/form-data (uploads).
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined || form ? body : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = res.headers.get("Content-Type")?.includes("json") ? await res.json() : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
