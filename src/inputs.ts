import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import type { Config, FailOn, GateInputs, GateMode, Mode, RegistryAuthEntry } from './config.js';
import { ConfigurationError } from './errors.js';
import { redactUrl } from './infra/http.js';
import { assertTrivyVersionAllowed, DEFAULT_TRIVY_VERSION } from './install/checksums.js';
import { MAX_SHARDS, SEVERITIES, type Severity } from './model.js';
import { checkTrivyActionInputs } from './inputs/trivy-action-inputs.js';
import { parsePlanInput, parseShardHeader } from './scale/plan.js';
import { DETECTION_PRIORITIES, VULN_SEVERITY_SOURCES } from './scan/trivy-settings.js';
import { compileRepositoryFilter, compileTagFilter } from './targets/filters.js';
import { IMAGE_SOURCE_INPUTS, parseListedEntry } from './targets/local-images.js';
import { tryParseImageReference } from './targets/reference.js';
import { parseRegistryLocation } from './targets/registry-discovery.js';

/** Reads one input as the runner gives it (INPUT_<NAME>); '' when absent. */
export type InputReader = (name: string) => string;

const actionsInputReader: InputReader = (name) => core.getInput(name);

/** Parses `registry-auth` (YAML) — injected so inputs.ts stays free of the auth stage's details. */
export type RegistryAuthParser = (yamlText: string) => RegistryAuthEntry[];

const TRUE = new Set(['true', 'True', 'TRUE']);
const FALSE = new Set(['false', 'False', 'FALSE']);

/**
 * Every input read and validated once, before any work. A bad value is a ConfigurationError that names the input
 * and says what is allowed, so the user can fix it from the message alone.
 */
export function parseInputs(
  get: InputReader,
  env: NodeJS.ProcessEnv,
  deps: { parseRegistryAuth: RegistryAuthParser; maskSecret: (value: string) => void },
): Config {
  // First: a step moved from trivy-action is told what to write instead of any of its inputs, before anything else.
  checkTrivyActionInputs(get);
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const tempDir = env.RUNNER_TEMP || os.tmpdir();
  const secret = (name: string): string | undefined => {
    const v = get(name).trim();
    if (v) deps.maskSecret(v);
    return v || undefined;
  };

  const mode = oneOf<Mode>(get, 'mode', ['scan', 'discover', 'report'], 'scan');
  const gate = oneOf<GateMode>(get, 'gate', ['enforce', 'warn', 'off'], 'enforce');
  const registryPassword = secret('registry-password');
  const registryToken = secret('registry-token');
  const githubToken = secret('github-token');
  const registryAuthText = get('registry-auth');
  if (registryAuthText.trim()) deps.maskSecret(registryAuthText.trim());

  const config: Config = {
    mode,
    images: splitList(get('images')),
    imageSource: oneOf(get, 'image-source', IMAGE_SOURCE_INPUTS, 'auto'),
    discovery: {
      registry: optional(get('registry'))
        ?.replace(/^(https?:\/\/)/, '')
        .replace(/\/+$/, ''),
      repositories: splitList(get('repositories') || '**'),
      excludeRepositories: splitList(get('exclude-repositories')),
      tags: splitList(get('tags') || '*'),
      excludeTags: splitList(get('exclude-tags')),
      maxImagesPerRepository: integer(get, 'max-images-per-repository', 5, 0),
      maxImages: integer(get, 'max-images', 500, 1),
      discoverFiles: splitList(get('discover-files')),
    },
    registryUsername: optional(get('registry-username')),
    registryPassword,
    registryToken,
    registryAuth: registryAuthText.trim() ? deps.parseRegistryAuth(registryAuthText) : [],
    githubToken,
    trivy: {
      version: trivyVersion(get('trivy-version') || DEFAULT_TRIVY_VERSION),
      downloadUrl: url(
        get,
        'trivy-download-url',
        'https://github.com/aquasecurity/trivy/releases/download',
        deps.maskSecret,
      ),
      checksum: checksum(get('trivy-checksum')),
      path: trivyPath(get('trivy-path'), workspace),
      dbRepositories: repositoryReferences(get, 'db-repository'),
      javaDbRepositories: repositoryReferences(get, 'java-db-repository'),
      cacheDb: boolean(get, 'cache-db', true),
      scanners: subset(get, 'scanners', ['vuln', 'misconfig', 'secret', 'license'], ['vuln', 'secret']),
      pkgTypes: subset(get, 'pkg-types', ['os', 'library'], ['os', 'library']),
      platform: platform(get('platform')),
      timeoutMs: duration(get, 'timeout', '10m'),
      parallel: integer(get, 'parallel', 4, 1, 64),
      configFile: optional(get('trivy-config')),
      skipFiles: splitList(get('skip-files')),
      skipDirs: splitList(get('skip-dirs')),
      detectionPriority: get('detection-priority').trim()
        ? oneOf(get, 'detection-priority', DETECTION_PRIORITIES, 'precise')
        : undefined,
      vulnSeveritySource: subset(get, 'vuln-severity-source', [...VULN_SEVERITY_SOURCES], []),
      ignorePolicy: optional(get('ignore-policy')),
      vexSources: vexInput(get).sources,
    },
    ignoreFiles: splitList(get('ignore-file')),
    vexFiles: vexInput(get).files,
    dependencyGraph: boolean(get, 'dependency-graph', false),
    sbom: oneOf<'none' | 'cyclonedx' | 'spdx'>(get, 'sbom', ['none', 'cyclonedx', 'spdx'], 'none'),
    severity: severities(get),
    policyFile: optional(get('policy')),
    gate: gateInputs(get, gate),
    uploadSarif: boolean(get, 'upload-sarif', true),
    sarifCategory: category(get),
    sarifCategoryExact: /\/\s*$/.test(get('sarif-category')),
    pruneCategories: boolean(get, 'prune-categories', false),
    sarifIncludeIgnored: boolean(get, 'sarif-include-ignored', false),
    annotations: boolean(get, 'annotations', true),
    prComment: oneOf(get, 'pr-comment', ['auto', 'always', 'never'], 'auto'),
    matrix: optional(get('matrix')),
    summary: boolean(get, 'summary', true),
    outputDir: path.resolve(workspace, get('output-dir') || 'image-scan-results'),
    reports: splitList(get('reports')),
    shards: integer(get, 'shards', 0, 0, MAX_SHARDS),
    planShard: parseShardHeader(get('images')),
    plan: get('plan').trim() ? parsePlanInput(get('plan').trim()) : undefined,
    cacheResults: boolean(get, 'cache-results', true),
    baseline: splitList(get('baseline')),
    baseImageCandidates: integer(get, 'base-image-candidates', 3, 0, MAX_BASE_IMAGE_CANDIDATES),
    workspace,
    tempDir,
  };

  checkCombinations(config);
  checkDiscovery(config.discovery);
  checkLocalImages(config);
  return config;
}

/**
 * Source prefixes, archive paths (lexically inside the workspace or RUNNER_TEMP) and `image-source` agree before any
 * work; each entry's own problems are reported by the targets stage, with every bad entry at once.
 */
function checkLocalImages(c: Config): void {
  const roots = { workspace: c.workspace, tempDir: c.tempDir };
  const local = c.images.some((entry) => {
    const parsed = parseListedEntry(entry, { imageSource: c.imageSource, roots });
    return parsed.ok && parsed.value.kind !== 'remote';
  });
  if (local && c.mode === 'discover') {
    throw new ConfigurationError(
      '`images` has a local image (a daemon image, an archive or a layout), which mode: discover cannot hand to ' +
        'other jobs; scan it in the job that built it (mode: scan).',
      'images',
    );
  }
}

/**
 * `vex`: `repo` and `oci` are Trivy's own sources (passed to `--vex`); every other entry is a VEX document path or
 * glob, relative to the workspace (read later through infra/workspace-files, which also refuses symlinks out).
 */
function vexInput(get: InputReader): { sources: ('repo' | 'oci')[]; files: string[] } {
  const sources: ('repo' | 'oci')[] = [];
  const files: string[] = [];
  for (const entry of splitList(get('vex'))) {
    if (entry === 'repo' || entry === 'oci') {
      if (!sources.includes(entry)) sources.push(entry);
    } else if (entry === 'sbom-ref') {
      throw new ConfigurationError(
        '`vex`: `sbom-ref` applies to SBOM scans, not images; give VEX document paths, `repo` or `oci`.',
        'vex',
      );
    } else if (path.isAbsolute(entry) || entry.split(/[\\/]/).includes('..')) {
      throw new ConfigurationError(
        `\`vex\`: ${JSON.stringify(entry)} leaves the workspace; give VEX document paths or globs relative to the repository root (e.g. .vex/*.json), or \`repo\` / \`oci\`.`,
        'vex',
      );
    } else files.push(entry);
  }
  return { sources, files };
}

/** The registry and every filter pattern compile now, so a mistake is refused before any registry call. */
function checkDiscovery(d: Config['discovery']): void {
  if (d.registry) parseRegistryLocation(d.registry);
  compileRepositoryFilter(d.repositories, d.excludeRepositories);
  compileTagFilter(d.tags, d.excludeTags);
}

/** DB repositories are OCI references Trivy pulls (`mirror.gcr.io/aquasec/trivy-db:2`): checked before the download. */
function repositoryReferences(get: InputReader, name: string): string[] {
  const entries = splitList(get(name));
  for (const entry of entries) {
    const parsed = tryParseImageReference(entry);
    if (!parsed.ok) {
      throw new ConfigurationError(
        `\`${name}\` has "${entry}", which is not a repository reference (${parsed.reason}); ` +
          'write host/repository[:tag], e.g. mirror.gcr.io/aquasec/trivy-db:2.',
        name,
      );
    }
  }
  return entries;
}

export function readInputs(deps: { parseRegistryAuth: RegistryAuthParser }): Config {
  return parseInputs(actionsInputReader, process.env, { ...deps, maskSecret: (v) => core.setSecret(v) });
}

function checkCombinations(c: Config): void {
  if (c.mode === 'report' && c.reports.length === 0) {
    throw new ConfigurationError(
      'mode "report" needs `reports`: globs of results files or Trivy JSON reports from earlier runs ' +
        '(e.g. reports: image-scan-results/**/results.json).',
      'reports',
    );
  }
  if (
    c.mode !== 'report' &&
    c.images.length === 0 &&
    !c.discovery.registry &&
    c.discovery.discoverFiles.length === 0
  ) {
    throw new ConfigurationError(
      'Nothing to scan: give `images` (references, one per line), `registry` (discover images there) or ' +
        '`discover-files` (globs of Dockerfiles/manifests), or use mode: report with `reports`.',
      'images',
    );
  }
  if (c.pruneCategories && (!c.uploadSarif || c.sarifCategoryExact)) {
    throw new ConfigurationError(
      c.uploadSarif
        ? '`prune-categories` is true, which needs per-image categories, but `sarif-category` ends in `/` (one ' +
            'category for every image): drop the trailing `/`, or set `prune-categories: false`.'
        : '`prune-categories` is true, which closes alerts by uploading SARIF, but `upload-sarif` is false: set ' +
            '`upload-sarif: true`, or `prune-categories: false`.',
      'prune-categories',
    );
  }
  if (c.shards > 0 && c.mode !== 'discover') {
    throw new ConfigurationError(
      '`shards` only applies with `mode: discover` (it plans the matrix).',
      'shards',
    );
  }
  if (c.baseline.length > 0 && c.mode === 'discover') {
    throw new ConfigurationError(
      '`baseline` only applies with `mode: scan` or `mode: report` (discover scans nothing to compare).',
      'baseline',
    );
  }
  if (c.plan && c.mode !== 'report') {
    throw new ConfigurationError(
      '`plan` only applies with `mode: report` (it names what each shard was given); pass it to the report job.',
      'plan',
    );
  }
  if (c.registryPassword && !c.registryUsername) {
    throw new ConfigurationError(
      '`registry-password` is set but `registry-username` is empty: give both.',
      'registry-username',
    );
  }
  if (c.registryUsername && !c.registryPassword) {
    throw new ConfigurationError(
      '`registry-username` is set but `registry-password` is empty: give both.',
      'registry-password',
    );
  }
}

/**
 * The one splitter for every list input: entries one per line or comma-separated; blank entries and `#` comments
 * (a whole line, or after whitespace) are dropped. A `/regex/flags` entry is kept whole, so its commas
 * (`/^v\d{1,3}$/`) and `#` stay part of the pattern.
 */
export function splitList(raw: string): string[] {
  const out: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    let rest = line;
    while (rest !== '') {
      const lead = rest.length - rest.trimStart().length;
      const regexEnd = rest[lead] === '/' ? regexLiteralEnd(rest, lead) : undefined;
      if (regexEnd !== undefined) {
        out.push(rest.slice(lead, regexEnd).trim());
        rest = rest.slice(regexEnd).replace(/^\s*,?/, '');
        continue;
      }
      const comma = rest.indexOf(',');
      const entry = comma < 0 ? rest : rest.slice(0, comma);
      const comment = /(^|\s)#/.exec(entry);
      const value = (comment ? entry.slice(0, comment.index) : entry).trim();
      if (value !== '') out.push(value);
      if (comment) break; // the rest of the line is the comment
      rest = comma < 0 ? '' : rest.slice(comma + 1);
    }
  }
  return out;
}

/**
 * End (exclusive) of a `/…/flags` literal starting at `start`, when one ends the entry there (followed by a comma,
 * a comment or the end of the line); the closing slash is the first one not escaped and not inside `[…]`.
 */
function regexLiteralEnd(text: string, start: number): number | undefined {
  let inClass = false;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass && i > start + 1) {
      const end = /^[a-z]*(?=\s*(?:,|\s#|$))/.exec(text.slice(i + 1));
      if (end) return i + 1 + end[0].length;
    }
  }
  return undefined;
}

function optional(v: string): string | undefined {
  const t = v.trim();
  return t === '' ? undefined : t;
}

function oneOf<T extends string>(get: InputReader, name: string, allowed: readonly T[], fallback: T): T {
  const raw = get(name).trim();
  if (raw === '') return fallback;
  const v = raw.toLowerCase() as T;
  if (!allowed.includes(v)) {
    throw new ConfigurationError(`\`${name}\` is "${raw}"; allowed: ${allowed.join(', ')}.`, name);
  }
  return v;
}

function boolean(get: InputReader, name: string, fallback: boolean): boolean {
  return optionalBoolean(get, name) ?? fallback;
}

function optionalBoolean(get: InputReader, name: string): boolean | undefined {
  const raw = get(name).trim();
  if (raw === '') return undefined;
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw new ConfigurationError(`\`${name}\` is "${raw}"; use true or false.`, name);
}

/** Newer tags scanned per FROM image: each is a scan, so the cap stays small. */
const MAX_BASE_IMAGE_CANDIDATES = 10;

function integer(
  get: InputReader,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  return optionalInteger(get, name, min, max) ?? fallback;
}

function optionalInteger(get: InputReader, name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const raw = get(name).trim();
  if (raw === '') return undefined;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
    throw new ConfigurationError(`\`${name}\` is "${raw}"; use ${range}.`, name);
  }
  return Number(raw);
}

const FAIL_ON = ['critical', 'high', 'medium', 'low', 'unknown', 'none'] as const;

function gateInputs(get: InputReader, gate: GateMode): GateInputs {
  const failOnRaw = get('fail-on').trim();
  let failOn: FailOn | undefined;
  if (failOnRaw) {
    const v = failOnRaw.toLowerCase();
    if (!(FAIL_ON as readonly string[]).includes(v)) {
      throw new ConfigurationError(
        `\`fail-on\` is "${failOnRaw}"; allowed: ${FAIL_ON.join(', ')}.`,
        'fail-on',
      );
    }
    failOn = v.toUpperCase() as FailOn;
  }
  const max: GateInputs['max'] = {};
  for (const sev of ['critical', 'high', 'medium', 'low'] as const) {
    const n = optionalInteger(get, `max-${sev}`, 0);
    if (n !== undefined) max[sev.toUpperCase() as Uppercase<typeof sev>] = n;
  }
  let maxCvss: number | undefined;
  const cvssRaw = get('max-cvss').trim();
  if (cvssRaw) {
    maxCvss = Number(cvssRaw);
    if (!/^\d+(\.\d+)?$/.test(cvssRaw) || maxCvss < 0 || maxCvss > 10) {
      throw new ConfigurationError(
        `\`max-cvss\` is "${cvssRaw}"; use a CVSS score from 0 to 10, e.g. 9.0.`,
        'max-cvss',
      );
    }
  }
  return {
    failOn,
    max,
    maxCvss,
    ignoreUnfixed: optionalBoolean(get, 'ignore-unfixed'),
    newFindingsOnly: optionalBoolean(get, 'new-findings-only'),
    gate,
  };
}

function severities(get: InputReader): Severity[] {
  const raw = get('severity').trim();
  if (!raw) return [...SEVERITIES];
  const out: Severity[] = [];
  for (const s of splitList(raw)) {
    const v = s.toUpperCase();
    if (!(SEVERITIES as readonly string[]).includes(v)) {
      throw new ConfigurationError(
        `\`severity\` has "${s}"; allowed: ${[...SEVERITIES].reverse().join(', ')}.`,
        'severity',
      );
    }
    if (!out.includes(v as Severity)) out.push(v as Severity);
  }
  if (out.length === 0) {
    throw new ConfigurationError(
      `\`severity\` is "${raw}", which names no severity; give some of ${[...SEVERITIES].reverse().join(', ')}, ` +
        'or leave it empty for all.',
      'severity',
    );
  }
  return out;
}

function subset(get: InputReader, name: string, allowed: string[], fallback: string[]): string[] {
  const raw = get(name).trim();
  if (!raw) return fallback;
  const values = splitList(raw).map((v) => v.toLowerCase());
  // `,,,` (or only a comment) is not "none": Trivy would be asked for nothing, or silently get the default.
  if (values.length === 0) {
    throw new ConfigurationError(
      `\`${name}\` is "${raw}", which names nothing; list at least one of ${allowed.join(', ')}, or remove it for ` +
        `the default (${fallback.join(',')}).`,
      name,
    );
  }
  for (const v of values) {
    if (!allowed.includes(v))
      throw new ConfigurationError(`\`${name}\` has "${v}"; allowed: ${allowed.join(', ')}.`, name);
  }
  return [...new Set(values)];
}

function trivyVersion(raw: string): string {
  const v = raw.trim().replace(/^v/, '');
  if (v === 'latest') return v;
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(v)) {
    throw new ConfigurationError(
      `\`trivy-version\` is "${raw}"; use an exact version such as ${DEFAULT_TRIVY_VERSION}, or latest.`,
      'trivy-version',
    );
  }
  assertTrivyVersionAllowed(v);
  return v;
}

function checksum(raw: string): string | undefined {
  const v = raw
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, '');
  if (!v) return undefined;
  if (!/^[0-9a-f]{64}$/.test(v)) {
    throw new ConfigurationError(
      "`trivy-checksum` must be the archive's SHA-256: 64 hex characters.",
      'trivy-checksum',
    );
  }
  return v;
}

/** An http(s) URL. Credentials in it (https://user:pass@mirror/...) are masked before anything can print them. */
function url(get: InputReader, name: string, fallback: string, maskSecret: (value: string) => void): string {
  const raw = get(name).trim() || fallback;
  let u: URL | undefined;
  try {
    u = new URL(raw);
  } catch {
    // Not a URL, so nothing to redact by: the value is not echoed (it may still hold a password).
  }
  if (u?.password) {
    maskSecret(raw);
    maskSecret(u.password);
    maskSecret(safeDecode(u.password));
  }
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
    const shown = u ? ` is "${redactUrl(raw)}"` : ' is not a URL';
    throw new ConfigurationError(`\`${name}\`${shown}; use an http(s) URL such as ${fallback}.`, name);
  }
  return raw.replace(/\/+$/, '');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * `trivy-path` as given when it is a bare command name (found on PATH), else absolute: Trivy runs in a private
 * directory, so a relative path is resolved against the workspace here, where the workflow meant it.
 */
function trivyPath(raw: string, workspace: string): string | undefined {
  const v = optional(raw);
  if (v === undefined || !/[\\/]/.test(v)) return v;
  return path.resolve(workspace, v);
}

function platform(raw: string): string | undefined {
  const v = raw.trim();
  if (!v) return undefined;
  if (!/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/.test(v)) {
    throw new ConfigurationError(
      `\`platform\` is "${raw}"; use os/arch, e.g. linux/amd64 or linux/arm64/v8.`,
      'platform',
    );
  }
  return v;
}

/** Go-style durations as Trivy takes them (90s, 10m, 1h30m); a bare number means seconds. */
export function parseDuration(raw: string): number | undefined {
  const v = raw.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(v)) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

/**
 * The longest scan time limit: Node's timers cannot wait longer than 2^31 − 1 ms (≈ 24.8 days; a longer timer fires
 * at once and would kill every scan), and the hard kill waits up to a minute past Trivy's own --timeout
 * (hardKillAfterMs in scan/run-scan.ts). 596h, comfortably below both together.
 */
const MAX_TIMEOUT_MS = 596 * 3_600_000;

function duration(get: InputReader, name: string, fallback: string): number {
  const raw = get(name).trim() || fallback;
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0) {
    throw new ConfigurationError(`\`${name}\` is "${raw}"; use a duration such as 90s, 10m or 1h.`, name);
  }
  if (ms > MAX_TIMEOUT_MS) {
    throw new ConfigurationError(
      `\`${name}\` is "${raw}"; the longest time limit is 596h (Node's timer limit). Use e.g. 30m or 2h.`,
      name,
    );
  }
  return ms;
}

function category(get: InputReader): string {
  const raw = get('sarif-category').trim() || 'image-scan';
  // `:` so that the category github/codeql-action/upload-sarif writes by default (`<workflow path>:<job id>`) can be
  // given exactly (with a trailing `/`); see report/sarif.ts categoryId.
  if (!/^[A-Za-z0-9_.\-/:]+$/.test(raw) || raw.replace(/\/+$/, '') === '') {
    throw new ConfigurationError(
      `\`sarif-category\` is "${raw}"; use letters, digits, '-', '_', '.', ':', '/'.`,
      'sarif-category',
    );
  }
  return raw.replace(/\/+$/, '');
}
