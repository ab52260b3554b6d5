// The HTTP API as the page uses it: JSON in and out, the bearer token when the server has one.

const TOKEN_KEY = "vidpipe-token";

export class ApiError extends Error {
  constructor(status, message, details) {
    super(message);
    this.status = status;
    this.details = details || [];
  }
}

let token = sessionStorage.getItem(TOKEN_KEY);
let asking = null; // one token prompt at a time, however many calls were refused

function askToken(refused) {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const error = document.getElementById("token-error");
  error.hidden = !refused;
  error.textContent = refused ? "The server refused that token; check it and try again." : "";
  asking = new Promise((resolve) => {
    form.addEventListener("submit", () => {
      token = input.value.trim();
      sessionStorage.setItem(TOKEN_KEY, token);
      asking = null;
      resolve();
    }, { once: true });
  });
  dialog.showModal();
  input.focus();
  return asking;
}

function headers(extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

// method, path, JSON body (or {raw, type} for a file), an AbortSignal to give up waiting;
// answers the JSON, throws ApiError
export async function api(method, path, body, file, signal) {
  const init = { method, headers: headers(), signal };
  if (file) {
    init.body = file.raw;
    init.headers["Content-Type"] = file.type;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const answer = await fetch(path, init);
  if (answer.status === 401) {
    await askToken(Boolean(token));
    return api(method, path, body, file, signal);
  }
  const json = (answer.headers.get("content-type") || "").startsWith("application/json");
  const data = json ? await answer.json() : null;
  if (!answer.ok) {
    const error = data && data.error ? data.error : { message: answer.statusText, details: [] };
    throw new ApiError(answer.status, error.message, error.details);
  }
  return data;
}

// A URL an <img> or <video> can load: the file's own URL, or with a token (which such
// elements cannot send) a local copy fetched with it.
const copies = new Map();
export async function mediaUrl(path) {
  if (!token) return path;
  if (!copies.has(path)) {
    copies.set(path, (async () => {
      const answer = await fetch(path, { headers: headers() });
      if (answer.status === 401) {
        copies.delete(path);
        await askToken(true);
        return mediaUrl(path);
      }
      return URL.createObjectURL(await answer.blob());
    })());
  }
  return copies.get(path);
}

let documentPromise = null;
export function openapi() {
  documentPromise = documentPromise || api("GET", "/api/openapi.json");
  return documentPromise;
}
