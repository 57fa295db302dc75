import path from 'node:path';
import { z } from 'zod';
import type { FailOn } from '../config.js';
import { ConfigurationError } from '../errors.js';
import { locateRepositoryFile, quotePath, readRepositoryFile } from '../infra/workspace-files.js';
import type { Severity } from '../model.js';
import { isCalendarDate, type IgnoreRule } from './ignore-rules.js';
import { globProblem } from './glob.js';
import { parseYamlWithSchema, type FieldHint } from './positioned-yaml.js';

// The policy file (the `policy` input): YAML, validated strictly, every error naming file:line:col and key.
//
//   fail-on: high                    # critical | high | medium | low | unknown | none (any case)
//   max: { critical: 0, high: 10 }   # per image: fail when an image has MORE findings of that severity
//   max-cvss: 9.0                    # fail when a finding's highest CVSS score is at or above it
//   ignore-unfixed: true             # vulnerabilities with no fixed version never fail
//   max-new: { critical: 0 }         # per image: fail when an image has MORE findings not in the baseline
//   new-findings-only: true          # the rules above apply only to findings not in the baseline
//   expired-ignores: warn            # warn (default) | fail
//   scan-errors: fail                # fail (default) | warn: an image that could not be scanned
//   ignore: [{ id, packages?, images?, reason?, expires? }]   # expires: YYYY-MM-DD, valid through that day (UTC)
//   images: [{ match, fail-on?, max?, max-cvss?, ignore-unfixed?, max-new? }]   # first match wins

export type MaxCounts = Partial<Record<Severity, number>>;

/** Thresholds that can be set at the top level and per image. */
interface PolicyRules {
  failOn?: FailOn;
  max?: MaxCounts;
  maxCvss?: number;
  ignoreUnfixed?: boolean;
  /** Per severity: how many findings not in the baseline an image may have. */
  maxNew?: MaxCounts;
}

export interface ImageOverride extends PolicyRules {
  match: string;
  /** `policy.yml:14`. */
  source: string;
}

export interface Policy extends PolicyRules {
  /** The file as the user named it. */
  file: string;
  expiredIgnores?: 'warn' | 'fail';
  scanErrors?: 'fail' | 'warn';
  newFindingsOnly?: boolean;
  ignore: IgnoreRule[];
  images: ImageOverride[];
}

const FAIL_ON = ['critical', 'high', 'medium', 'low', 'unknown', 'none'] as const;
const MAX_KEYS = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
const RULE_KEYS = ['fail-on', 'max', 'max-cvss', 'ignore-unfixed', 'max-new'] as const;
const TOP_KEYS = [
  ...RULE_KEYS,
  'new-findings-only',
  'expired-ignores',
  'scan-errors',
  'ignore',
  'images',
] as const;
const IGNORE_KEYS = ['id', 'packages', 'images', 'reason', 'expires'] as const;
const IMAGE_KEYS = ['match', ...RULE_KEYS] as const;

const failOn = z
  .string()
  .refine((v) => (FAIL_ON as readonly string[]).includes(v.trim().toLowerCase()))
  .transform((v) => v.trim().toUpperCase() as FailOn);
const count = z.number().int().min(0);
const max = z.strictObject({
  critical: count.optional(),
  high: count.optional(),
  medium: count.optional(),
  low: count.optional(),
  unknown: count.optional(),
});
const cvss = z.number().min(0).max(10);
const nonEmpty = z.string().refine((v) => v.trim() !== '');
const stringList = z.union([nonEmpty.transform((v) => [v]), z.array(nonEmpty)]);
// Image globs are compiled to RE2 (policy/glob.ts): one it cannot compile is refused here, before any work.
const imageGlob = nonEmpty.refine((v) => globProblem(v) === undefined);
const imageGlobList = z.union([imageGlob.transform((v) => [v]), z.array(imageGlob)]);
const date = z.union([
  z.string().refine(isCalendarDate),
  // A YAML 1.1 timestamp (`%YAML 1.1` documents) arrives as a Date; keep its UTC day.
  z.date().transform((d) => d.toISOString().slice(0, 10)),
]);

const ruleShape = {
  'fail-on': failOn.optional(),
  max: max.optional(),
  'max-cvss': cvss.optional(),
  'ignore-unfixed': z.boolean().optional(),
  'max-new': max.optional(),
};

const schema = z.strictObject({
  ...ruleShape,
  'new-findings-only': z.boolean().optional(),
  'expired-ignores': z.enum(['warn', 'fail']).optional(),
  'scan-errors': z.enum(['fail', 'warn']).optional(),
  ignore: z
    .array(
      z.strictObject({
        id: nonEmpty,
        packages: stringList.optional(),
        images: imageGlobList.optional(),
        reason: z.string().optional(),
        expires: date.optional(),
      }),
    )
    .optional(),
  images: z.array(z.strictObject({ match: imageGlob, ...ruleShape })).optional(),
});

const SEVERITY_WORDS = 'one of critical, high, medium, low, unknown, none';
const COUNT: FieldHint = { expected: 'a count', use: 'a whole number ≥ 0' };
const hints: Record<string, FieldHint> = {
  '': { expected: 'a policy', use: `a mapping of ${TOP_KEYS.join(', ')}` },
  'fail-on': { expected: 'a severity', use: SEVERITY_WORDS },
  max: { expected: 'a mapping of counts', use: 'e.g. { critical: 0, high: 10 }' },
  'max.*': COUNT,
  'max-cvss': { expected: 'a CVSS score', use: 'a number from 0 to 10, e.g. 9.0' },
  'ignore-unfixed': { expected: 'a boolean', use: 'true or false' },
  'max-new': { expected: 'a mapping of counts', use: 'e.g. { critical: 0, high: 0 }' },
  'max-new.*': COUNT,
  'new-findings-only': { expected: 'a boolean', use: 'true or false' },
  'expired-ignores': { expected: 'allowed', use: 'warn or fail' },
  'scan-errors': { expected: 'allowed', use: 'fail or warn' },
  ignore: { expected: 'a list of ignores', use: 'entries like "- id: CVE-2023-44487"' },
  'ignore[]': { expected: 'an ignore', use: `a mapping of ${IGNORE_KEYS.join(', ')}` },
  'ignore[].id': {
    expected: 'an ID',
    use: 'the CVE, GHSA, vendor or check ID to ignore, e.g. CVE-2023-44487',
  },
  'ignore[].packages': {
    expected: 'a list of packages',
    use: 'package names or PURLs, e.g. ["golang.org/x/net"]',
  },
  'ignore[].packages[]': { expected: 'a package', use: 'a package name or PURL' },
  'ignore[].images': { expected: 'a list of image globs', use: 'e.g. ["ghcr.io/acme/api*"]' },
  'ignore[].images[]': { expected: 'an image glob', use: 'e.g. "ghcr.io/acme/api*"' },
  'ignore[].reason': { expected: 'text', use: 'a short sentence' },
  'ignore[].expires': { expected: 'a date', use: 'YYYY-MM-DD' },
  images: { expected: 'a list of per-image rules', use: 'entries like "- match: ghcr.io/acme/legacy/*"' },
  'images[]': { expected: 'a per-image rule', use: `a mapping of ${IMAGE_KEYS.join(', ')}` },
  'images[].match': { expected: 'an image glob', use: 'e.g. "ghcr.io/acme/legacy/*"' },
  'images[].fail-on': { expected: 'a severity', use: SEVERITY_WORDS },
  'images[].max': { expected: 'a mapping of counts', use: 'e.g. { critical: 0, high: 10 }' },
  'images[].max.*': COUNT,
  'images[].max-cvss': { expected: 'a CVSS score', use: 'a number from 0 to 10, e.g. 9.0' },
  'images[].ignore-unfixed': { expected: 'a boolean', use: 'true or false' },
  'images[].max-new': { expected: 'a mapping of counts', use: 'e.g. { critical: 0, high: 0 }' },
  'images[].max-new.*': COUNT,
};
const keys: Record<string, readonly string[]> = {
  '': TOP_KEYS,
  max: MAX_KEYS,
  'ignore[]': IGNORE_KEYS,
  'images[]': IMAGE_KEYS,
  'images[].max': MAX_KEYS,
  'max-new': MAX_KEYS,
  'images[].max-new': MAX_KEYS,
};

/** Parses and validates a policy file; a ConfigurationError (input `policy`) names file:line:col and the key. */
export function parsePolicyFile(text: string, file: string): Policy {
  const { value, lineOf } = parseYamlWithSchema(text, file, { schema, hints, keys, input: 'policy' });
  return {
    file,
    ...rules(value),
    expiredIgnores: value['expired-ignores'],
    scanErrors: value['scan-errors'],
    newFindingsOnly: value['new-findings-only'],
    ignore: (value.ignore ?? []).map((entry, i) => ({
      id: entry.id.trim(),
      packages: entry.packages,
      images: entry.images,
      reason: entry.reason,
      expires: entry.expires,
      source: `${file}:${lineOf(['ignore', i])}`,
    })),
    images: (value.images ?? []).map((entry, i) => ({
      match: entry.match,
      ...rules(entry),
      source: `${file}:${lineOf(['images', i])}`,
    })),
  };
}

type ParsedRules = z.infer<z.ZodObject<typeof ruleShape>>;

function rules(entry: ParsedRules): PolicyRules {
  const out: PolicyRules = {};
  if (entry['fail-on'] !== undefined) out.failOn = entry['fail-on'];
  if (entry.max !== undefined) out.max = severityCounts(entry.max);
  if (entry['max-new'] !== undefined) out.maxNew = severityCounts(entry['max-new']);
  if (entry['max-cvss'] !== undefined) out.maxCvss = entry['max-cvss'];
  if (entry['ignore-unfixed'] !== undefined) out.ignoreUnfixed = entry['ignore-unfixed'];
  return out;
}

/**
 * Reads the `policy` input's file, relative to the workspace. Called before any scan so a bad file stops the run
 * at once. The file is untrusted repository content: it must resolve inside the workspace (infra/workspace-files).
 */
export async function loadPolicyFile(file: string, workspace: string): Promise<Policy> {
  const found = await locateRepositoryFile(workspace, file, 'policy');
  if (!found) {
    throw new ConfigurationError(
      `\`policy\`: the policy file ${quotePath(file)} does not exist (looked for ${quotePath(path.resolve(workspace, file))}); give a path relative to the repository root.`,
      'policy',
    );
  }
  return parsePolicyFile(await readRepositoryFile(found, 'policy'), file);
}

function severityCounts(counts: Partial<Record<(typeof MAX_KEYS)[number], number>>): MaxCounts {
  const out: MaxCounts = {};
  for (const key of MAX_KEYS) {
    const n = counts[key];
    if (n !== undefined) out[key.toUpperCase() as Severity] = n;
  }
  return out;
}
