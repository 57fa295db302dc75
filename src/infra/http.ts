import { EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { systemClock, type Clock } from './clock.js';

export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Per attempt. */
  timeoutMs?: number;
  /** Attempts on 429, 5xx and network errors (default 4 = 1 try + 3 retries). */
  attempts?: number;
  /** Follow redirects ourselves; Authorization is dropped when the host changes. Default true. */
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  url: string; // final URL after redirects
  headers: Headers;
  body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

export type HttpClient = (req: HttpRequest) => Promise<HttpResponse>;

class HttpError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** Delay before retry `attempt` (1-based): Retry-After when given, else exponential backoff with full jitter. */
export function retryDelayMs(
  attempt: number,
  retryAfter: string | null,
  now: Date,
  baseMs = 500,
  capMs = 30_000,
) {
  if (retryAfter) {
    const secs = Number(retryAfter);
    if (Number.isFinite(secs)) return Math.min(capMs, Math.max(0, secs * 1000));
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.min(capMs, Math.max(0, at - now.getTime()));
  }
  const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * fetch with a time limit on every attempt, retries with backoff and jitter on 429/5xx (honouring
 * Retry-After), and redirects followed by hand so credentials never leave the host they were meant for.
 */
export function createHttpClient(options: { clock?: Clock; userAgent?: string } = {}): HttpClient {
  const clock = options.clock ?? systemClock;
  const userAgent = options.userAgent ?? 'image-scan-gate';
  return async function request(req: HttpRequest): Promise<HttpResponse> {
    const attempts = req.attempts ?? 4;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await once(req, userAgent);
        if (RETRYABLE.has(res.status) && attempt < attempts) {
          await clock.sleep(retryDelayMs(attempt, res.headers.get('retry-after'), clock.now()));
          continue;
        }
        return res;
      } catch (e) {
        lastError = e;
        if (attempt < attempts) {
          await clock.sleep(retryDelayMs(attempt, null, clock.now()));
          continue;
        }
      }
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new HttpError(
      `${req.method ?? 'GET'} ${redactUrl(req.url)} failed after ${attempts} attempts: ${reason}`,
    );
  };
}

/**
 * Self-hosted runners often reach registries through a proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), which Node's
 * built-in fetch ignores. With a proxy set, requests go through undici's env-aware agent; without one, through the
 * built-in fetch as before.
 */
function proxyFromEnv(env: NodeJS.ProcessEnv): Dispatcher | undefined {
  const proxy = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  return proxy ? new EnvHttpProxyAgent() : undefined;
}

let proxyDispatcher: Dispatcher | undefined | null = null;

function request(url: string, init: RequestInit): Promise<Response> {
  if (proxyDispatcher === null) proxyDispatcher = proxyFromEnv(process.env);
  if (!proxyDispatcher) return fetch(url, init);
  return undiciFetch(url, { ...(init as object), dispatcher: proxyDispatcher });
}

async function once(req: HttpRequest, userAgent: string): Promise<HttpResponse> {
  let url = req.url;
  let headers: Record<string, string> = { 'user-agent': userAgent, ...req.headers };
  let method = req.method ?? 'GET';
  let body = req.body;
  for (let hop = 0; hop < 10; hop++) {
    const res = await request(url, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(req.timeoutMs ?? 30_000),
    });
    const location = res.headers.get('location');
    if (req.followRedirects !== false && res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      const next = new URL(location, url);
      if (next.host !== new URL(url).host) headers = withoutAuthorization(headers);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
      url = next.toString();
      continue;
    }
    const buf = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status,
      url,
      headers: res.headers,
      body: buf,
      text: () => buf.toString('utf8'),
      json: <T>() => JSON.parse(buf.toString('utf8')) as T,
    };
  }
  throw new HttpError(`too many redirects from ${redactUrl(req.url)}`);
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

/**
 * A URL's own credentials (https://user:pass@host/...) as an Authorization header, and the URL without them:
 * fetch refuses such URLs (and would quote them in its error), and download libraries log the URL they are given.
 */
export function splitUrlCredentials(url: string): { url: string; authorization?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (!u.username && !u.password) return { url };
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return {
    url: u.toString(),
    authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`,
  };
}

/** URLs may carry credentials (user:pass@host); never print them. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return url;
  }
}
