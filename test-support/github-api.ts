import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// A local GitHub REST API for tests. Every request is matched to an operation of GitHub's own OpenAPI description
// (npm @octokit/openapi): an unknown method + path, an undeclared query parameter, a path or query value of the
// wrong type, or a body that breaks the operation's requestBody schema is recorded in `violations`. The replies
// of the implemented operations are checked against the description's response schemas the same way, so the fake
// cannot drift from what GitHub answers. Tests assert `violations` is empty.

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- OpenAPI JSON and request bodies, walked by key
type Json = Record<string, any>;

export interface ApiRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Path parameters by the OpenAPI template's names (`owner`, `issue_number`, ...). */
  params: Record<string, string>;
  operationId?: string;
  body: unknown;
  headers: http.IncomingHttpHeaders;
}

export interface RecordedRequest extends ApiRequest {
  status: number;
}

export interface ApiReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Return a reply to answer the request, or undefined to let the built-in behaviour answer it. */
export type ApiHandler = (
  req: ApiRequest,
  api: GitHubApi,
) => ApiReply | undefined | Promise<ApiReply | undefined>;

export interface StoredComment {
  id: number;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
  createdAt: string;
  updatedAt: string;
}

/** A review comment on a pull request's diff (`pulls/create-review-comment`). */
export interface StoredReviewComment {
  id: number;
  owner: string;
  repo: string;
  pullNumber: number;
  commitId: string;
  path: string;
  line?: number;
  side?: string;
  body: string;
  createdAt: string;
}

/** A file a pull request changes, as `pulls/list-files` answers: its unified diff in `patch`. */
export interface PullFile {
  filename: string;
  patch?: string;
  status?: 'added' | 'modified' | 'removed' | 'renamed';
}

export interface StoredSarif {
  id: string;
  owner: string;
  repo: string;
  commitSha: string;
  ref: string;
  checkoutUri?: string;
  startedAt?: string;
  toolName?: string;
  /** The SARIF log, decoded (base64 → gunzip → JSON). */
  sarif: unknown;
  gzippedBytes: number;
  /** GET .../sarifs/{id} calls so far. */
  polls: number;
}

/** One code scanning analysis: GitHub makes one per run (tool + category) of each processed upload. */
export interface StoredAnalysis {
  id: number;
  owner: string;
  repo: string;
  ref: string;
  commitSha: string;
  /** As GitHub reports it: the run's `automationDetails.id` up to its last `/`. */
  category: string;
  toolName: string;
  resultsCount: number;
  rulesCount: number;
  createdAt: string;
  sarifId: string;
}

export interface GitHubApiState {
  comments: Map<number, StoredComment>;
  sarifs: Map<string, StoredSarif>;
  /** Oldest first. */
  analyses: StoredAnalysis[];
  /** `commits/{sha}/pulls`: the pull requests that hold each commit. */
  pullsForCommit: Map<string, { number: number; state: 'open' | 'closed'; headSha?: string }[]>;
  /** Dependency snapshots received (`dependency-graph/create-repository-snapshot`), in order. */
  snapshots: { owner: string; repo: string; body: Json }[];
  /** `pulls/{n}/files`: what each pull request changes (seed it to say which lines are in the diff). */
  pullFiles: Map<number, PullFile[]>;
  reviewComments: StoredReviewComment[];
}

export interface GitHubApiOptions {
  /** Answer chosen operations (by operationId, e.g. `code-scanning/upload-sarif`) yourself. */
  handlers?: Partial<Record<string, ApiHandler>>;
  /** A fork PR's read-only GITHUB_TOKEN: every write gets 403 "Resource not accessible by integration". */
  forkReadOnly?: boolean;
  sarif?: {
    /** GETs answered `pending` before the final state (default 1). */
    pendingPolls?: number;
    outcome?: 'complete' | 'failed';
    /** `errors` of a failed processing. */
    errors?: string[];
  };
  /** The login comments are created as (default `github-actions[bot]`, type Bot). */
  commenter?: { login: string; type: 'Bot' | 'User' };
  serverUrl?: string;
}

export interface GitHubApi {
  /** Base URL to use as GITHUB_API_URL. */
  url: string;
  requests: RecordedRequest[];
  violations: string[];
  state: GitHubApiState;
  /** Seed a comment as if someone had written it earlier. */
  addComment(
    issueNumber: number,
    body: string,
    user?: StoredComment['user'],
    repository?: string,
  ): StoredComment;
  /** Seed an analysis as if an earlier run had uploaded it (repository `acme/shop` unless given). */
  addAnalysis(analysis: Partial<StoredAnalysis> & { category: string; ref: string }): StoredAnalysis;
  close(): Promise<void>;
}

/** GitHub's error body. */
export function errorReply(status: number, message: string, headers?: Record<string, string>): ApiReply {
  return {
    status,
    headers,
    body: { message, documentation_url: 'https://docs.github.com/rest', status: String(status) },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// GitHub's OpenAPI description, loaded once per process (13 MB of JSON; ~1 s) and indexed by method + template.

interface OperationEntry {
  method: string;
  template: string;
  regex: RegExp;
  paramNames: string[];
  literalSegments: number;
  operation: Json;
}

interface OpenApi {
  spec: Json;
  byMethod: Map<string, OperationEntry[]>;
  ajv: Ajv;
  validators: Map<string, ValidateFunction>;
}

let openApi: OpenApi | undefined;

function specPath(): string {
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve('@octokit/openapi/package.json'));
  return path.join(root, 'generated', 'api.github.com.json');
}

function loadOpenApi(): OpenApi {
  if (openApi) return openApi;
  const spec = JSON.parse(fs.readFileSync(specPath(), 'utf8')) as Json;
  const byMethod = new Map<string, OperationEntry[]>();
  for (const [template, item] of Object.entries(spec.paths as Json)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head']) {
      const operation = (item as Json)[method] as Json | undefined;
      if (!operation) continue;
      const segments = template.split('/');
      const paramNames: string[] = [];
      const pattern = segments
        .map((segment) =>
          segment.replace(/\{([^}]+)\}|[^{}]+/g, (m, name?: string) => {
            if (name) {
              paramNames.push(name);
              return '([^/]+)';
            }
            return m.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
          }),
        )
        .join('/');
      const entry: OperationEntry = {
        method: method.toUpperCase(),
        template,
        regex: new RegExp(`^${pattern}$`),
        paramNames,
        literalSegments: segments.filter((s) => s && !s.includes('{')).length,
        operation,
      };
      const list = byMethod.get(entry.method) ?? [];
      list.push(entry);
      byMethod.set(entry.method, list);
    }
  }
  // Literal segments beat parameters: /issues/comments/{id} before /issues/{issue_number}/...
  for (const list of byMethod.values()) list.sort((a, b) => b.literalSegments - a.literalSegments);

  const options = { strict: false, allErrors: true, validateSchema: false } as const;
  const ajv = new Ajv(options);
  addFormats(ajv);
  // The component schemas once, under an id; operation schemas point into it (`github#/components/schemas/...`).
  // Only the schemas: parameters, bodies and responses are resolved by hand before their schema is compiled.
  ajv.addSchema({ components: { schemas: typelessNullable((spec.components as Json).schemas) } }, 'github');
  openApi = { spec, byMethod, ajv, validators: new Map() };
  return openApi;
}

/**
 * OpenAPI 3.0's `nullable: true` next to `anyOf` without a `type` (the dependency snapshot's `metadata` values) is
 * refused by ajv ("nullable" cannot be used without "type"): written as the JSON Schema it means, `null` allowed.
 */
function typelessNullable(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(typelessNullable);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Json = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, typelessNullable(v)]));
  if (out.nullable === true && out.type === undefined) {
    delete out.nullable;
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

function pointIntoComponents(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(pointIntoComponents);
  if (schema && typeof schema === 'object') {
    return Object.fromEntries(
      Object.entries(schema).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `github${v}` : pointIntoComponents(v),
      ]),
    );
  }
  return schema;
}

function resolveRef<T = Json>(api: OpenApi, value: Json): T {
  let current = value;
  while (typeof current?.$ref === 'string') {
    const parts = current.$ref.replace(/^#\//, '').split('/');
    current = parts.reduce<Json>(
      (node, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')],
      api.spec,
    );
  }
  return current as T;
}

/** Path and query values arrive as text; read them as the type their schema declares before validating. */
function fromText(value: string, type: unknown): unknown {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function validator(api: OpenApi, key: string, schema: unknown): ValidateFunction {
  let validate = api.validators.get(key);
  if (!validate) {
    validate = api.ajv.compile(pointIntoComponents(schema) as Json);
    api.validators.set(key, validate);
  }
  return validate;
}

function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .slice(0, 8)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? e.keyword}`)
    .join('; ');
}

interface Matched {
  entry?: OperationEntry;
  params: Record<string, string>;
}

function matchOperation(api: OpenApi, method: string, pathname: string): Matched {
  for (const entry of api.byMethod.get(method) ?? []) {
    const m = entry.regex.exec(pathname);
    if (!m) continue;
    const params = Object.fromEntries(
      entry.paramNames.map((name, i) => [name, decodeURIComponent(m[i + 1])]),
    );
    return { entry, params };
  }
  return { params: {} };
}

/** Checks parameters and body against the operation; returns the violations found. */
function checkRequest(api: OpenApi, entry: OperationEntry, req: ApiRequest, contentType: string): string[] {
  const where = `${req.method} ${entry.template}`;
  const problems: string[] = [];
  const pathItem = (api.spec.paths as Json)[entry.template] as Json;
  const parameters = [
    ...((pathItem.parameters as Json[]) ?? []),
    ...((entry.operation.parameters as Json[]) ?? []),
  ]
    .map((p) => resolveRef(api, p))
    .filter((p) => p.in === 'path' || p.in === 'query');
  for (const [location, values] of [
    ['path', req.params],
    ['query', req.query],
  ] as const) {
    for (const [name, value] of Object.entries(values)) {
      const declared = parameters.find((p) => p.in === location && p.name === name);
      if (!declared) {
        problems.push(`${where}: ${location} parameter "${name}" is not in GitHub's description`);
        continue;
      }
      if (!declared.schema) continue;
      const schema = resolveRef(api, declared.schema as Json);
      const validate = validator(api, `param:${entry.method} ${entry.template} ${location} ${name}`, schema);
      if (!validate(fromText(value, schema.type)))
        problems.push(`${where}: ${location} parameter ${name}=${value}: ${describeErrors(validate)}`);
    }
  }
  const requestBody = entry.operation.requestBody
    ? resolveRef(api, entry.operation.requestBody as Json)
    : undefined;
  const schema = (requestBody?.content as Json | undefined)?.['application/json']?.schema;
  if (req.body === undefined) {
    if (requestBody?.required) problems.push(`${where}: a request body is required`);
  } else if (!requestBody) {
    problems.push(`${where}: takes no request body`);
  } else if (schema) {
    if (!/application\/json/.test(contentType))
      problems.push(`${where}: body sent as "${contentType}", not JSON`);
    const validate = validator(api, `body:${entry.method} ${entry.template}`, schema);
    if (!validate(req.body)) problems.push(`${where}: request body: ${describeErrors(validate)}`);
  }
  return problems;
}

function checkReply(api: OpenApi, entry: OperationEntry, reply: ApiReply): string[] {
  // GitHub documents its successes fully and its errors only partly: check the successes.
  if (reply.status < 200 || reply.status > 299) return [];
  const response = (entry.operation.responses as Json)[String(reply.status)] as Json | undefined;
  if (!response)
    return [`${entry.method} ${entry.template}: answered ${reply.status}, not a documented status`];
  const schema = resolveRef(api, response).content?.['application/json']?.schema;
  if (!schema || reply.body === undefined) return [];
  const validate = validator(api, `reply:${entry.method} ${entry.template} ${reply.status}`, schema);
  return validate(reply.body)
    ? []
    : [
        `${entry.method} ${entry.template}: the fake's ${reply.status} reply breaks the schema: ${describeErrors(validate)}`,
      ];
}

// Operations whose replies the fake keeps deliberately short (a pull request object has ~150 required fields).
const REPLIES_NOT_CHECKED = new Set(['repos/list-pull-requests-associated-with-commit']);

// ---------------------------------------------------------------------------------------------------------------

export async function startGitHubApi(options: GitHubApiOptions = {}): Promise<GitHubApi> {
  const api = loadOpenApi();
  const state: GitHubApiState = {
    comments: new Map(),
    sarifs: new Map(),
    analyses: [],
    pullsForCommit: new Map(),
    snapshots: [],
    pullFiles: new Map(),
    reviewComments: [],
  };
  let nextAnalysisId = 500;
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const serverUrl = options.serverUrl ?? 'https://github.com';
  const commenter = options.commenter ?? { login: 'github-actions[bot]', type: 'Bot' as const };
  let nextCommentId = 1_000;
  let baseUrl = '';

  const self: GitHubApi = {
    url: '',
    requests,
    violations,
    state,
    addComment(issueNumber, body, user = { login: 'octocat', type: 'User' }, repository = 'acme/shop') {
      const [owner, repo] = repository.split('/');
      const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const comment: StoredComment = {
        id: nextCommentId++,
        owner,
        repo,
        issueNumber,
        body,
        user,
        createdAt: at,
        updatedAt: at,
      };
      state.comments.set(comment.id, comment);
      return comment;
    },
    addAnalysis(analysis) {
      const stored: StoredAnalysis = {
        id: nextAnalysisId++,
        owner: 'acme',
        repo: 'shop',
        commitSha: '0'.repeat(40),
        toolName: 'Trivy',
        resultsCount: 0,
        rulesCount: 0,
        createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        sarifId: randomUUID(),
        ...analysis,
      };
      state.analyses.push(stored);
      return stored;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const user = (u: StoredComment['user'], id: number) => ({
    login: u.login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: `${baseUrl}/users/${encodeURIComponent(u.login)}`,
    html_url: `${serverUrl}/${u.type === 'Bot' ? 'apps/github-actions' : encodeURIComponent(u.login)}`,
    followers_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/followers`,
    following_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/following{/other_user}`,
    gists_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/gists{/gist_id}`,
    starred_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/starred{/owner}{/repo}`,
    subscriptions_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/subscriptions`,
    organizations_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/orgs`,
    repos_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/repos`,
    events_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/events{/privacy}`,
    received_events_url: `${baseUrl}/users/${encodeURIComponent(u.login)}/received_events`,
    type: u.type,
    site_admin: false,
  });
  const commentJson = (c: StoredComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${baseUrl}/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
    html_url: `${serverUrl}/${c.owner}/${c.repo}/pull/${c.issueNumber}#issuecomment-${c.id}`,
    body: c.body,
    user: user(c.user, c.user.type === 'Bot' ? 41898282 : 583231),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    issue_url: `${baseUrl}/repos/${c.owner}/${c.repo}/issues/${c.issueNumber}`,
    author_association: c.user.type === 'Bot' ? 'NONE' : 'MEMBER',
  });

  const reviewCommentJson = (c: StoredReviewComment) => {
    const url = `${baseUrl}/repos/${c.owner}/${c.repo}/pulls/comments/${c.id}`;
    const html = `${serverUrl}/${c.owner}/${c.repo}/pull/${c.pullNumber}#discussion_r${c.id}`;
    const pr = `${baseUrl}/repos/${c.owner}/${c.repo}/pulls/${c.pullNumber}`;
    return {
      url,
      id: c.id,
      node_id: `PRRC_${c.id}`,
      pull_request_review_id: c.id + 1,
      diff_hunk: '@@ -1 +1 @@',
      path: c.path,
      commit_id: c.commitId,
      original_commit_id: c.commitId,
      user: user(commenter, commenter.type === 'Bot' ? 41898282 : 583231),
      body: c.body,
      created_at: c.createdAt,
      updated_at: c.createdAt,
      html_url: html,
      pull_request_url: pr,
      author_association: 'NONE',
      _links: { self: { href: url }, html: { href: html }, pull_request: { href: pr } },
      ...(c.line !== undefined && { line: c.line, original_line: c.line }),
      ...(c.side && { side: c.side }),
    };
  };

  const builtIn: Record<string, (req: ApiRequest) => ApiReply> = {
    'dependency-graph/create-repository-snapshot': (req) => {
      state.snapshots.push({ owner: req.params.owner, repo: req.params.repo, body: req.body as Json });
      return {
        status: 201,
        body: {
          id: state.snapshots.length,
          created_at: new Date().toISOString(),
          result: 'SUCCESS',
          message: 'Dependency results for the repo have been successfully updated.',
        },
      };
    },
    'pulls/list-files': (req) => {
      const { owner, repo } = req.params;
      const files = state.pullFiles.get(Number(req.params.pull_number)) ?? [];
      return {
        status: 200,
        body: files.map((f) => ({
          sha: '1'.repeat(40),
          filename: f.filename,
          status: f.status ?? 'modified',
          additions: (f.patch ?? '').split('\n').filter((l) => l.startsWith('+')).length,
          deletions: (f.patch ?? '').split('\n').filter((l) => l.startsWith('-')).length,
          changes: (f.patch ?? '').split('\n').filter((l) => /^[+-]/.test(l)).length,
          blob_url: `${serverUrl}/${owner}/${repo}/blob/${'1'.repeat(40)}/${f.filename}`,
          raw_url: `${serverUrl}/${owner}/${repo}/raw/${'1'.repeat(40)}/${f.filename}`,
          contents_url: `${baseUrl}/repos/${owner}/${repo}/contents/${f.filename}?ref=${'1'.repeat(40)}`,
          ...(f.patch !== undefined && { patch: f.patch }),
        })),
      };
    },
    'pulls/list-review-comments': (req) => ({
      status: 200,
      body: state.reviewComments
        .filter(
          (c) =>
            c.owner === req.params.owner &&
            c.repo === req.params.repo &&
            c.pullNumber === Number(req.params.pull_number),
        )
        .map(reviewCommentJson),
    }),
    'pulls/create-review-comment': (req) => {
      const body = req.body as Json;
      const comment: StoredReviewComment = {
        id: nextCommentId++,
        owner: req.params.owner,
        repo: req.params.repo,
        pullNumber: Number(req.params.pull_number),
        commitId: String(body.commit_id),
        path: String(body.path),
        ...(typeof body.line === 'number' && { line: body.line }),
        ...(typeof body.side === 'string' && { side: body.side }),
        body: String(body.body),
        createdAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      state.reviewComments.push(comment);
      return {
        status: 201,
        body: reviewCommentJson(comment),
        headers: {
          location: `${baseUrl}/repos/${comment.owner}/${comment.repo}/pulls/comments/${comment.id}`,
        },
      };
    },
    'code-scanning/upload-sarif': (req) => {
      const body = req.body as Json;
      const gz = Buffer.from(String(body.sarif ?? ''), 'base64');
      if (gz.length > 10 * 1024 * 1024) return errorReply(413, 'Payload Too Large');
      let sarif: Json;
      try {
        sarif = JSON.parse(gunzipSync(gz).toString('utf8')) as Json;
      } catch (e) {
        violations.push(`upload-sarif: the sarif field is not gzip + base64 JSON: ${(e as Error).message}`);
        return errorReply(400, 'Invalid request.\n\nSARIF could not be decoded');
      }
      const problem = sarifProblem(sarif);
      if (problem) {
        violations.push(`upload-sarif: ${problem}`);
        return errorReply(400, problem);
      }
      const id = randomUUID();
      for (const run of sarif.runs as Json[]) {
        self.addAnalysis({
          owner: req.params.owner,
          repo: req.params.repo,
          ref: String(body.ref),
          commitSha: String(body.commit_sha),
          category: categoryOf(run),
          toolName: String(run?.tool?.driver?.name ?? ''),
          resultsCount: Array.isArray(run?.results) ? (run.results as unknown[]).length : 0,
          rulesCount: Array.isArray(run?.tool?.driver?.rules)
            ? (run.tool.driver.rules as unknown[]).length
            : 0,
          sarifId: id,
        });
      }
      state.sarifs.set(id, {
        id,
        owner: req.params.owner,
        repo: req.params.repo,
        commitSha: body.commit_sha,
        ref: body.ref,
        checkoutUri: body.checkout_uri,
        startedAt: body.started_at,
        toolName: body.tool_name,
        sarif,
        gzippedBytes: gz.length,
        polls: 0,
      });
      return {
        status: 202,
        body: {
          id,
          url: `${baseUrl}/repos/${req.params.owner}/${req.params.repo}/code-scanning/sarifs/${id}`,
        },
      };
    },
    'code-scanning/get-sarif': (req) => {
      const upload = state.sarifs.get(req.params.sarif_id);
      if (!upload || upload.owner !== req.params.owner || upload.repo !== req.params.repo) {
        return errorReply(404, 'Not Found');
      }
      upload.polls++;
      if (upload.polls <= (options.sarif?.pendingPolls ?? 1)) {
        return { status: 200, body: { processing_status: 'pending', analyses_url: null } };
      }
      if (options.sarif?.outcome === 'failed') {
        return {
          status: 200,
          body: { processing_status: 'failed', analyses_url: null, errors: options.sarif.errors ?? [] },
        };
      }
      return {
        status: 200,
        body: {
          processing_status: 'complete',
          analyses_url: `${baseUrl}/repos/${upload.owner}/${upload.repo}/code-scanning/analyses?sarif_id=${upload.id}`,
        },
      };
    },
    'code-scanning/list-recent-analyses': (req) => {
      const perPage = Math.min(100, Number(req.query.per_page ?? 30));
      const page = Math.max(1, Number(req.query.page ?? 1));
      const matching = state.analyses
        .filter(
          (a) =>
            a.owner === req.params.owner &&
            a.repo === req.params.repo &&
            (req.query.ref === undefined || a.ref === req.query.ref) &&
            (req.query.tool_name === undefined || a.toolName === req.query.tool_name),
        )
        .reverse(); // newest first, GitHub's default order
      // GitHub answers 404 when the repository has no analyses at all (for this filter).
      if (matching.length === 0) return errorReply(404, 'no analysis found');
      return {
        status: 200,
        body: matching.slice((page - 1) * perPage, page * perPage).map((a) => ({
          ref: a.ref,
          commit_sha: a.commitSha,
          analysis_key: '',
          environment: '{}',
          category: a.category,
          error: '',
          created_at: a.createdAt,
          results_count: a.resultsCount,
          rules_count: a.rulesCount,
          id: a.id,
          url: `${baseUrl}/repos/${a.owner}/${a.repo}/code-scanning/analyses/${a.id}`,
          sarif_id: a.sarifId,
          tool: { name: a.toolName, guid: null, version: null },
          deletable: true,
          warning: '',
        })),
      };
    },
    'issues/list-comments': (req) => {
      const perPage = Math.min(100, Number(req.query.per_page ?? 30));
      const page = Math.max(1, Number(req.query.page ?? 1));
      const all = [...state.comments.values()]
        .filter(
          (c) =>
            c.owner === req.params.owner &&
            c.repo === req.params.repo &&
            c.issueNumber === Number(req.params.issue_number),
        )
        .sort((a, b) => a.id - b.id);
      const last = Math.max(1, Math.ceil(all.length / perPage));
      const link = (p: number) => {
        const u = new URL(`${baseUrl}${req.path}`);
        for (const [k, v] of Object.entries(req.query)) u.searchParams.set(k, v);
        u.searchParams.set('per_page', String(perPage));
        u.searchParams.set('page', String(p));
        return u.toString();
      };
      const rels: string[] = [];
      if (page > 1) rels.push(`<${link(page - 1)}>; rel="prev"`, `<${link(1)}>; rel="first"`);
      if (page < last) rels.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
      return {
        status: 200,
        body: all.slice((page - 1) * perPage, page * perPage).map(commentJson),
        headers: rels.length ? { link: rels.join(', ') } : undefined,
      };
    },
    'issues/create-comment': (req) => {
      const comment = self.addComment(
        Number(req.params.issue_number),
        String((req.body as Json).body),
        commenter,
        `${req.params.owner}/${req.params.repo}`,
      );
      return {
        status: 201,
        body: commentJson(comment),
        headers: {
          location: `${baseUrl}/repos/${comment.owner}/${comment.repo}/issues/comments/${comment.id}`,
        },
      };
    },
    'issues/update-comment': (req) => {
      const comment = state.comments.get(Number(req.params.comment_id));
      if (!comment || comment.owner !== req.params.owner || comment.repo !== req.params.repo) {
        return errorReply(404, 'Not Found');
      }
      comment.body = String((req.body as Json).body);
      comment.updatedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      return { status: 200, body: commentJson(comment) };
    },
    'issues/delete-comment': (req) => {
      if (!state.comments.delete(Number(req.params.comment_id))) return errorReply(404, 'Not Found');
      return { status: 204 };
    },
    'repos/list-pull-requests-associated-with-commit': (req) => {
      const pulls = state.pullsForCommit.get(req.params.commit_sha) ?? [];
      return {
        status: 200,
        body: pulls.map((p) => ({
          number: p.number,
          state: p.state,
          html_url: `${serverUrl}/${req.params.owner}/${req.params.repo}/pull/${p.number}`,
          head: { sha: p.headSha ?? req.params.commit_sha },
        })),
      };
    },
  };

  async function answer(req: ApiRequest, entry: OperationEntry | undefined): Promise<ApiReply> {
    if (!entry) return errorReply(404, 'Not Found');
    const custom = options.handlers?.[req.operationId ?? ''];
    const reply = custom ? await custom(req, self) : undefined;
    if (reply) return reply;
    if (options.forkReadOnly && req.method !== 'GET' && req.method !== 'HEAD') {
      return errorReply(403, 'Resource not accessible by integration');
    }
    const implemented = builtIn[req.operationId ?? ''];
    if (!implemented) {
      violations.push(
        `${req.method} ${entry.template} (${req.operationId}) is valid but not implemented by the fake`,
      );
      return errorReply(501, 'Not Implemented');
    }
    const builtInReply = implemented(req);
    if (!REPLIES_NOT_CHECKED.has(req.operationId ?? ''))
      violations.push(...checkReply(api, entry, builtInReply));
    return builtInReply;
  }

  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (c: Buffer) => chunks.push(c));
    incoming.on('end', () => {
      void (async () => {
        const url = new URL(incoming.url ?? '/', baseUrl);
        const method = (incoming.method ?? 'GET').toUpperCase();
        const raw = Buffer.concat(chunks).toString('utf8');
        const { entry, params } = matchOperation(api, method, url.pathname);
        const req: ApiRequest = {
          method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          params,
          operationId: entry?.operation.operationId as string | undefined,
          body: undefined,
          headers: incoming.headers,
        };
        let reply: ApiReply;
        try {
          req.body = raw ? JSON.parse(raw) : undefined;
        } catch {
          violations.push(`${method} ${url.pathname}: the body is not JSON`);
        }
        if (!entry) {
          violations.push(`${method} ${url.pathname}: no such operation in GitHub's REST API description`);
        } else {
          violations.push(...checkRequest(api, entry, req, String(incoming.headers['content-type'] ?? '')));
        }
        try {
          reply = await answer(req, entry);
        } catch (e) {
          violations.push(`${method} ${url.pathname}: the fake failed: ${(e as Error).message}`);
          reply = errorReply(500, 'Server Error');
        }
        requests.push({ ...req, status: reply.status });
        const headers: Record<string, string> = {
          'x-github-media-type': 'github.v3; format=json',
          ...(reply.body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
          ...reply.headers,
        };
        outgoing.writeHead(reply.status, headers);
        outgoing.end(reply.body !== undefined ? JSON.stringify(reply.body) : undefined);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  self.url = baseUrl;
  return self;
}

/** What code scanning refuses before processing (FACTS.md "GitHub code scanning"). */
function sarifProblem(sarif: Json): string | undefined {
  if (sarif.version !== '2.1.0') return `SARIF version is ${JSON.stringify(sarif.version)}, not "2.1.0"`;
  const runs = sarif.runs as Json[] | undefined;
  if (!Array.isArray(runs)) return 'SARIF has no runs array';
  if (runs.length > 20) return `SARIF has ${runs.length} runs; GitHub accepts at most 20 per upload`;
  const seen = new Set<string>();
  for (const run of runs) {
    const key = `${run?.tool?.driver?.name ?? ''}\u0000${categoryOf(run)}`;
    if (seen.has(key)) {
      return (
        `two runs share tool "${run?.tool?.driver?.name}" and category "${categoryOf(run)}"; ` +
        'GitHub refuses such uploads since July 2025'
      );
    }
    seen.add(key);
  }
  return undefined;
}

/** The category GitHub reads from a run: `automationDetails.id` up to its last `/` (empty without one). */
function categoryOf(run: Json): string {
  const id = String(run?.automationDetails?.id ?? '');
  const slash = id.lastIndexOf('/');
  return slash < 0 ? '' : id.slice(0, slash);
}
