import { z } from 'zod';
import { ConfigurationError, jsonSyntaxProblem } from '../errors.js';
import { readRegularFile } from '../infra/workspace-files.js';
import {
  ARCHIVE_FORMATS,
  IMAGE_DAEMONS,
  MAX_SHARDS,
  PLAN_ID_PATTERN,
  RESULTS_SCHEMA,
  SEVERITIES,
  type ImageResult,
  type BaseImageAdvice,
  type ResultsDelta,
  type ResultsFile,
  type Target,
  type Verdict,
} from '../model.js';
import { tryParseImageReference } from '../targets/reference.js';
import { InvalidTrivyReportError, parseTrivyReport, type ParsedTrivyReport } from './trivy-report.js';

// The results file (`image-scan-gate/results@1`): everything after scanning is a function of it, so a fan-in
// `mode: report` job and a single run cannot disagree. Written with a fixed key order (the order of the schemas
// below) and only the fields the schemas name: refs, digests, findings, the verdict — never credentials or
// anything else a caller might have hung on the objects. Read back with the same schemas, so a damaged or foreign
// file is refused with the path of the first bad field.

const severity = z.enum(SEVERITIES);

const origin = z.object({
  file: z.string(),
  line: z.number(),
  column: z.number().optional(),
  platform: z.string().optional(),
  note: z.string().optional(),
});

const target = z.object({
  ref: z.string(),
  input: z.string(),
  registry: z.string(),
  repository: z.string(),
  tag: z.string().optional(),
  digest: z.string().optional(),
  tags: z.array(z.string()).optional(),
  platform: z.string().optional(),
  origins: z.array(origin),
  sources: z.array(z.enum(['listed', 'registry', 'file'])),
  createdAt: z.string().optional(),
  local: z
    .discriminatedUnion('kind', [
      z.object({ kind: z.literal('daemon'), daemon: z.enum(IMAGE_DAEMONS) }),
      z.object({
        kind: z.literal('archive'),
        format: z.enum(ARCHIVE_FORMATS),
        path: z.string(),
        imageId: z.string().optional(),
      }),
    ])
    .optional(),
});

const skipped = z.object({ ref: z.string(), reason: z.string(), origins: z.array(origin).optional() });

const finding = z.object({
  id: z.string(),
  aliases: z.array(z.string()).optional(),
  pkg: z.string(),
  pkgId: z.string().optional(),
  pkgPath: z.string().optional(),
  purl: z.string().optional(),
  installed: z.string().optional(),
  fixed: z.string().optional(),
  status: z.string().optional(),
  severity,
  severitySource: z.string().optional(),
  cvss: z
    .object({
      score: z.number(),
      source: z.string(),
      vector: z.string().optional(),
      version: z.enum(['2', '3', '4']),
    })
    .optional(),
  cvssV3OfSource: z.number().optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  url: z.string().optional(),
  class: z.enum(['os-pkgs', 'lang-pkgs', 'secret', 'config', 'license', 'unknown']),
  target: z.string(),
  type: z.string().optional(),
  layer: z.object({ digest: z.string().optional(), diffId: z.string().optional() }).optional(),
  publishedDate: z.string().optional(),
});

export const imageResultSchema = z.object({
  target,
  digest: z.string().optional(),
  imageId: z.string().optional(),
  os: z.object({ family: z.string(), name: z.string(), eosl: z.boolean().optional() }).optional(),
  status: z.enum(['scanned', 'reused', 'failed']),
  error: z.string().optional(),
  findings: z.array(finding),
  packages: z
    .array(
      z.object({
        name: z.string(),
        version: z.string().optional(),
        purl: z.string().optional(),
        type: z.string().optional(),
        target: z.string(),
        pkgPath: z.string().optional(),
      }),
    )
    .optional(),
  trivyVersion: z.string().optional(),
  dbUpdatedAt: z.string().optional(),
  rawReport: z.string().optional(),
  durationMs: z.number().optional(),
}) satisfies z.ZodType<ImageResult>;

const violation = z.object({
  rule: z.string(),
  image: z.string().optional(),
  findings: z.array(z.string()),
  threshold: z.string(),
  message: z.string(),
});

const vexStatus = z.enum(['not_affected', 'fixed']);

const verdict = z.object({
  result: z.enum(['pass', 'fail', 'warn']),
  violations: z.array(violation),
  // The policy stage's warnings (scan-errors: warn, expired-ignores: warn) travel with the verdict.
  warnings: z.array(violation).optional(),
  ignored: z.array(
    z.object({
      image: z.string(),
      findingId: z.string(),
      pkg: z.string(),
      rule: z.string(),
      reason: z.string().optional(),
      expires: z.string().optional(),
      vex: vexStatus.optional(),
    }),
  ),
  expiredIgnores: z.array(
    z.object({ id: z.string(), expires: z.string(), source: z.string(), reason: z.string().optional() }),
  ),
  unusedIgnores: z.array(z.object({ id: z.string(), source: z.string(), vex: vexStatus.optional() })),
  imageRules: z
    .array(
      z.object({ match: z.string(), source: z.string(), applied: z.number(), note: z.string().optional() }),
    )
    .optional(),
  policy: z.unknown().optional(),
}) satisfies z.ZodType<Verdict>;

// A shard job's plan record (see scale/plan.ts). Checked strictly: the fan-in job prints these values.
const plannedShard = z
  .object({
    id: z.string().regex(PLAN_ID_PATTERN, 'expected 12 hex digits'),
    shard: z.number().int().min(1),
    shards: z.number().int().min(1).max(MAX_SHARDS),
    images: z.array(z.string().regex(/^\S{1,1100}$/, 'expected an image reference')),
  })
  .refine((p) => p.shard <= p.shards, { message: 'shard is greater than shards', path: ['shard'] });

const deltaFinding = z.object({
  id: z.string(),
  pkg: z.string(),
  severity,
  class: finding.shape.class,
  target: z.string(),
  pkgPath: z.string().optional(),
  installed: z.string().optional(),
  fixed: z.string().optional(),
  title: z.string().optional(),
  url: z.string().optional(),
});

// The baseline delta (findings/compare.ts): optional on @1, like `plan`.
const delta = z.object({
  baseline: z.object({ source: z.string(), createdAt: z.string() }).optional(),
  missing: z.string().optional(),
  images: z.array(
    z.object({
      ref: z.string(),
      baselineRef: z.string().optional(),
      change: z.enum(['compared', 'added', 'removed']),
      new: z.array(deltaFinding),
      fixed: z.array(deltaFinding),
      unchanged: z.number().int().min(0),
    }),
  ),
}) satisfies z.ZodType<ResultsDelta>;

const tally = z.object({ critical: z.number().int(), high: z.number().int(), total: z.number().int() });

// Base image advice (targets/base-image-candidates.ts): optional on @1, like `delta`.
const baseImageAdvice = z.object({
  ref: z.string(),
  tag: z.string(),
  origins: z.array(origin),
  tally,
  candidates: z.array(
    z.object({
      tag: z.string(),
      ref: z.string(),
      digest: z.string().optional(),
      status: z.enum(['scanned', 'failed']),
      tally: tally.optional(),
      error: z.string().optional(),
    }),
  ),
  recommended: z.object({ tag: z.string(), ref: z.string(), tally, removed: tally }).optional(),
}) satisfies z.ZodType<BaseImageAdvice>;

const resultsFileSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA),
  tool: z.object({ name: z.literal('image-scan-gate'), version: z.string() }),
  trivyVersion: z.string().optional(),
  dbUpdatedAt: z.string().optional(),
  createdAt: z.string(),
  images: z.array(imageResultSchema),
  // Absent in files from before skipped targets were recorded.
  skipped: z.array(skipped).default([]),
  // Optional on @1: readers from before shard plans drop it (zod strips unknown keys), so @1 stays @1.
  plan: plannedShard.optional(),
  delta: delta.optional(),
  baseImageAdvice: z.array(baseImageAdvice).optional(),
  verdict: verdict.optional(),
}) satisfies z.ZodType<ResultsFile, unknown>;

const SCHEMA_PATTERN = /^image-scan-gate\/results@(\d+)(?:\.\d+)*$/;
const SUPPORTED_MAJOR = 1;

/** The results file as text: fixed key order, two-space indent, nothing the schemas do not name. */
export function serializeResults(file: ResultsFile): string {
  const checked = resultsFileSchema.safeParse(file);
  if (!checked.success) {
    // A bug, not a user mistake: the action built a results file its own reader would refuse.
    throw new Error(`refusing to write an invalid results file: ${describeIssues(checked.error.issues)}`);
  }
  const out = checked.data;
  if (out.verdict?.policy !== undefined) out.verdict.policy = sortKeys(out.verdict.policy);
  // Compact: results files of large estates run to hundreds of MB, and `mode: report` parses every byte (use jq to
  // read).
  return `${JSON.stringify(out)}\n`;
}

/** Parses and validates a results file; `source` (the path) names the file in every error. */
export function parseResultsFile(text: string, source: string): ResultsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigurationError(
      `reports: ${source} is not valid JSON (${jsonSyntaxProblem(e, text)}).`,
      'reports',
    );
  }
  return resultsFileFromJson(raw, source);
}

/** The input a results file was given through (`reports`, `baseline`): every refusal names it. */
type ResultsInput = 'reports' | 'baseline';

function resultsFileFromJson(raw: unknown, source: string, input: ResultsInput = 'reports'): ResultsFile {
  const schema = isObject(raw) ? raw.schema : undefined;
  const match = typeof schema === 'string' ? SCHEMA_PATTERN.exec(schema) : null;
  if (!match) {
    throw new ConfigurationError(
      // The file's own value is not echoed: a report may come from anywhere, and file content is never echoed.
      `${input}: ${source} is not an Image Scan Gate results file (its "schema" is ` +
        `${schema === undefined ? 'missing' : 'something else'}, expected "${RESULTS_SCHEMA}").`,
      input,
    );
  }
  const major = Number(match[1]);
  if (major > SUPPORTED_MAJOR) {
    throw new ConfigurationError(
      `${input}: ${source} was written by a newer version of Image Scan Gate (results@${major}); ` +
        'upgrade the action in the report job.',
      input,
    );
  }
  // Minor revisions of @1 only add optional fields: read them as @1.
  const parsed = resultsFileSchema.safeParse({ ...(raw as object), schema: RESULTS_SCHEMA });
  if (!parsed.success) {
    throw new ConfigurationError(
      `${input}: ${source} is not a valid results file: ${describeIssues(parsed.error.issues)}.`,
      input,
    );
  }
  return parsed.data;
}

/** A file given in `reports`: a results file, or a raw Trivy JSON report turned into a one-image results file. */
export interface ReportFile {
  kind: 'results' | 'trivy-report';
  path: string;
  results: ResultsFile;
}

export async function readReportFile(path: string): Promise<ReportFile> {
  // Results files of large estates run to hundreds of MB: no size bound, but never a FIFO or a device.
  const text = await readRegularFile(path, { input: 'reports', shown: path, followSymlink: true });
  return reportFileFromText(text, path);
}

/**
 * Reads a baseline results file (the `baseline` input, or one restored from the Actions cache), at most `maxBytes`.
 * Validated like a results file in `reports`; every refusal names `baseline`.
 */
export async function readBaselineFile(path: string, maxBytes: number): Promise<ResultsFile> {
  const text = await readRegularFile(path, { input: 'baseline', shown: path, followSymlink: true, maxBytes });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigurationError(
      `baseline: ${path} is not valid JSON (${jsonSyntaxProblem(e, text)}).`,
      'baseline',
    );
  }
  return resultsFileFromJson(raw, path, 'baseline');
}

/** Pure half of readReportFile: detects the kind by its marker field (`schema` or `SchemaVersion`). */
export function reportFileFromText(text: string, path: string): ReportFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigurationError(
      `reports: ${path} is not valid JSON (${jsonSyntaxProblem(e, text)}).`,
      'reports',
    );
  }
  if (isObject(raw) && 'schema' in raw) {
    return { kind: 'results', path, results: resultsFileFromJson(raw, path) };
  }
  if (isObject(raw) && 'SchemaVersion' in raw) {
    let report: ParsedTrivyReport;
    try {
      report = parseTrivyReport(raw, path);
    } catch (e) {
      if (e instanceof InvalidTrivyReportError)
        throw new ConfigurationError(`reports: ${e.message}`, 'reports');
      throw e;
    }
    const image = imageResultFromTrivyReport(report, path);
    return {
      kind: 'trivy-report',
      path,
      results: {
        schema: RESULTS_SCHEMA,
        tool: { name: 'image-scan-gate', version: 'none (raw Trivy report)' },
        ...(report.trivyVersion !== undefined && { trivyVersion: report.trivyVersion }),
        createdAt: report.createdAt ?? '',
        images: [image],
        skipped: [],
      },
    };
  }
  throw new ConfigurationError(
    `reports: ${path} is neither an Image Scan Gate results file (no "schema") nor a Trivy JSON report ` +
      '(no "SchemaVersion"): give results files written by this action or `trivy image --format json` output.',
    'reports',
  );
}

/** A raw report of one image, as the scan stage would have produced it. */
function imageResultFromTrivyReport(report: ParsedTrivyReport, source: string): ImageResult {
  return {
    target: targetFromReport(report, source),
    ...(report.digest !== undefined && { digest: report.digest }),
    ...(report.imageId !== undefined && { imageId: report.imageId }),
    ...(report.os !== undefined && { os: report.os }),
    status: 'scanned',
    findings: report.findings,
    ...(report.trivyVersion !== undefined && { trivyVersion: report.trivyVersion }),
  };
}

/**
 * The image a raw report is about: its ArtifactName when that is an image reference. Scans of an archive
 * (`image.tar.gz`) or of a directory name no image; those keep the artifact name as the ref, verbatim.
 */
function targetFromReport(report: ParsedTrivyReport, source: string): Target {
  const name = report.artifactName ?? source;
  const isImage = report.artifactType === undefined || report.artifactType === 'container_image';
  const looksLikeFile = /\.(tar|tar\.gz|tgz)$/i.test(name) || name.startsWith('/') || name.startsWith('.');
  const parsed = isImage && !looksLikeFile ? tryParseImageReference(name) : undefined;
  if (parsed?.ok) {
    const { ref, registry, repository, tag, digest } = parsed.value;
    return {
      ref,
      input: name,
      registry,
      repository,
      ...(tag !== undefined && { tag }),
      ...((digest ?? report.digest) !== undefined && { digest: digest ?? report.digest }),
      origins: [],
      sources: ['listed'],
    };
  }
  return { ref: name, input: name, registry: '', repository: name, origins: [], sources: ['listed'] };
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 3).map((i) => `${formatPath(i.path)}: ${i.message}`);
  const more = issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : '';
  return shown.join('; ') + more;
}

/** `images[3].findings[0].severity`, as a reader would find it in the file. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys(value[k])]),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
