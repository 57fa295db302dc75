import path from 'node:path';
import { z } from 'zod';
import { ConfigurationError, excerpt } from '../errors.js';
import { locateRepositoryFile, quotePath, readRepositoryFile } from '../infra/workspace-files.js';
import type { FindingClass } from '../model.js';
import { isCalendarDate, type IgnoreRule } from './ignore-rules.js';
import { parseYamlWithSchema, type FieldHint } from './positioned-yaml.js';

// Trivy's own ignore files, read with Trivy's syntax (aquasecurity/trivy pkg/result/ignore.go):
//   .trivyignore       one ID per line; `#` comments; `exp:YYYY-MM-DD` among the fields after the ID. An ID here
//                      applies to every kind of finding, as in Trivy.
//   .trivyignore.yaml  `vulnerabilities:`, `misconfigurations:`, `secrets:`, `licenses:` lists of
//                      `{id, paths, purls, statement, expired_at}`; `id` may be left out when `paths` or `purls`
//                      select the findings. `statement` is the reason; `purls` restrict the packages.
// Differences from Trivy, all towards a stricter gate: an unknown key or a bad date is an error (Trivy skips the
// line or the key); an expiry date is good through the end of that day in UTC, like the policy file's.

const SECTIONS: Record<string, FindingClass[]> = {
  vulnerabilities: ['os-pkgs', 'lang-pkgs', 'unknown'], // what isVulnerability (model.ts) calls one
  misconfigurations: ['config'],
  secrets: ['secret'],
  licenses: ['license'],
};
const SECTION_KEYS = Object.keys(SECTIONS);
const ENTRY_KEYS = ['id', 'paths', 'purls', 'statement', 'expired_at'] as const;

const nonEmpty = z.string().refine((v) => v.trim() !== '');
const entry = z
  .strictObject({
    id: nonEmpty.optional(),
    paths: z.array(nonEmpty).optional(),
    purls: z.array(z.string().refine((v) => v.startsWith('pkg:'))).optional(),
    statement: z.string().optional(),
    expired_at: z
      .union([z.string().refine(isCalendarDate), z.date().transform((d) => d.toISOString().slice(0, 10))])
      .optional(),
  })
  // An entry with neither an ID nor a scope would ignore everything: refuse it (Trivy requires one of them too).
  .refine((e) => e.id !== undefined || (e.paths?.length ?? 0) > 0 || (e.purls?.length ?? 0) > 0, {
    path: ['id'],
  });
const section = z.array(entry).nullish();
const schema = z.strictObject({
  vulnerabilities: section,
  misconfigurations: section,
  secrets: section,
  licenses: section,
});

const hints: Record<string, FieldHint> = {
  '': { expected: 'an ignore file', use: `a mapping of ${SECTION_KEYS.join(', ')}` },
  '*': { expected: 'a list of ignores', use: 'entries like "- id: CVE-2023-44487"' },
  '*[]': { expected: 'an ignore', use: `a mapping of ${ENTRY_KEYS.join(', ')}` },
  '*[].id': { expected: 'an ID', use: 'the CVE, GHSA or check ID, or give paths or purls instead' },
  '*[].paths': { expected: 'a list of paths', use: 'globs, e.g. ["usr/local/lib/**"]' },
  '*[].paths[]': { expected: 'a path glob', use: 'e.g. "usr/local/lib/**"' },
  '*[].purls': { expected: 'a list of PURLs', use: 'e.g. ["pkg:deb/debian/libssl1.1"]' },
  '*[].purls[]': { expected: 'a PURL', use: 'e.g. "pkg:deb/debian/libssl1.1"' },
  '*[].statement': { expected: 'text', use: 'a short sentence' },
  '*[].expired_at': { expected: 'a date', use: 'YYYY-MM-DD' },
};
const keys: Record<string, readonly string[]> = { '': SECTION_KEYS };
for (const name of SECTION_KEYS) {
  keys[`${name}[]`] = ENTRY_KEYS;
  hints[name] = hints['*'];
  for (const [pattern, hint] of Object.entries(hints)) {
    if (pattern.startsWith('*[]')) hints[name + pattern.slice(1)] = hint;
  }
}

/** `.trivyignore`: one ID per line. */
export function parseTrivyIgnore(text: string, file: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const [id, ...rest] = line.split(/\s+/);
    const rule: IgnoreRule = { id, source: `${file}:${index + 1}` };
    for (const field of rest) {
      if (!field.startsWith('exp:')) continue; // Trivy ignores other fields
      const expires = field.slice(4);
      if (!isCalendarDate(expires)) {
        throw new ConfigurationError(
          `${file}:${index + 1}: ${excerpt(field)} is not an expiry date (use exp:YYYY-MM-DD, e.g. CVE-2023-44487 exp:2027-01-31)`,
          'ignore-file',
        );
      }
      rule.expires = expires;
    }
    rules.push(rule);
  });
  return rules;
}

/** `.trivyignore.yaml`, Trivy's structured format. */
export function parseTrivyIgnoreYaml(text: string, file: string): IgnoreRule[] {
  const { value, lineOf } = parseYamlWithSchema(text, file, { schema, hints, keys, input: 'ignore-file' });
  const rules: IgnoreRule[] = [];
  for (const name of SECTION_KEYS) {
    const entries = value[name as keyof typeof value] ?? [];
    entries.forEach((e, i) => {
      const rule: IgnoreRule = { classes: SECTIONS[name], source: `${file}:${lineOf([name, i])}` };
      if (e.id !== undefined) rule.id = e.id.trim();
      if (e.purls?.length) rule.packages = e.purls;
      if (e.paths?.length) rule.paths = e.paths;
      if (e.statement) rule.reason = e.statement;
      if (e.expired_at) rule.expires = e.expired_at;
      rules.push(rule);
    });
  }
  return rules.sort((a, b) => lineNumber(a.source) - lineNumber(b.source));
}

function lineNumber(source: string): number {
  return Number(source.slice(source.lastIndexOf(':') + 1));
}

/** Picks the syntax by extension, as Trivy does: `.yaml`/`.yml` structured, anything else one ID per line. */
export function parseIgnoreFile(text: string, file: string): IgnoreRule[] {
  return /\.ya?ml$/i.test(file) ? parseTrivyIgnoreYaml(text, file) : parseTrivyIgnore(text, file);
}

/** The ignore file looked for when the `ignore-file` input is not given, in this order. */
const DEFAULT_IGNORE_FILES = ['.trivyignore.yaml', '.trivyignore'] as const;

/**
 * Reads every file the `ignore-file` input lists (each must exist; their rules merged in the order given, each rule
 * keeping its own file:line), or else `.trivyignore.yaml` / `.trivyignore` in the workspace when present; no file
 * means no ignores. All are untrusted repository content: each must resolve inside the workspace
 * (infra/workspace-files), even when found by the default lookup.
 */
export async function loadIgnoreFiles(
  explicitPaths: readonly string[],
  workspace: string,
): Promise<IgnoreRule[]> {
  if (explicitPaths.length > 0) {
    const rules: IgnoreRule[] = [];
    for (const file of new Set(explicitPaths)) rules.push(...(await loadExplicitIgnoreFile(file, workspace)));
    return rules;
  }
  for (const name of DEFAULT_IGNORE_FILES) {
    const found = await locateRepositoryFile(workspace, name, 'ignore-file');
    if (found) return parseIgnoreFile(await readRepositoryFile(found, 'ignore-file'), name);
  }
  return [];
}

async function loadExplicitIgnoreFile(explicitPath: string, workspace: string): Promise<IgnoreRule[]> {
  const found = await locateRepositoryFile(workspace, explicitPath, 'ignore-file');
  if (!found) {
    throw new ConfigurationError(
      `\`ignore-file\`: ${quotePath(explicitPath)} does not exist (looked for ${quotePath(path.resolve(workspace, explicitPath))}); give a path relative to the repository root, or leave it empty to use ${DEFAULT_IGNORE_FILES.join(' or ')} when present.`,
      'ignore-file',
    );
  }
  return parseIgnoreFile(await readRepositoryFile(found, 'ignore-file'), explicitPath);
}
