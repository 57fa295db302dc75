import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEVERITIES, type Severity } from '../../src/model.js';
import { projectRoot } from '../../test-support/paths.js';

/** One line of the stand-in's STANDIN_LOG: what Trivy was asked to do. */
export interface StandinInvocation {
  argv: string[];
  pid: number;
  start: number;
  end: number;
  exitCode: number;
  credentialEnv: string[];
}

export function readStandinLog(file: string): StandinInvocation[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StandinInvocation);
}

/** Image scans only (not --version, not DB downloads). */
export function scansIn(log: StandinInvocation[]): StandinInvocation[] {
  return log.filter(
    (i) =>
      i.argv[0] === 'image' &&
      !i.argv.includes('--download-db-only') &&
      !i.argv.includes('--download-java-db-only'),
  );
}

/**
 * Severity counts of a stand-in template, counted here by walking the raw JSON — independent of the action's
 * parser, so a parsing bug cannot hide behind its own expectations.
 */
export function templateCounts(name: string): Record<Severity, number> & { fixable: number } {
  const raw = JSON.parse(
    fs.readFileSync(
      path.join(projectRoot, 'test-support', 'trivy-standin', 'reports', `${name}.json`),
      'utf8',
    ),
  ) as {
    Results?: {
      Vulnerabilities?: { Severity: string; FixedVersion?: string }[];
      Secrets?: { Severity: string }[];
    }[];
  };
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  let fixable = 0;
  for (const r of raw.Results ?? []) {
    for (const v of r.Vulnerabilities ?? []) {
      counts[v.Severity as Severity]++;
      if ((v.FixedVersion ?? '').split(',').some((x) => x.trim())) fixable++;
    }
    // `scanners` defaults to vuln,secret: secrets count too.
    for (const secret of r.Secrets ?? []) counts[secret.Severity as Severity]++;
  }
  return { ...counts, fixable };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Every file under a directory, recursively (to search written files for secrets). */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

export function pullRequestEvent(dir: string, opts: { number: number; fork?: boolean }): string {
  const file = path.join(dir, 'event.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      action: 'synchronize',
      number: opts.number,
      pull_request: {
        number: opts.number,
        head: {
          sha: 'b'.repeat(40),
          ref: 'feature',
          repo: { full_name: opts.fork ? 'someone/shop' : 'acme/shop', fork: !!opts.fork },
        },
        base: { sha: 'c'.repeat(40), ref: 'main', repo: { full_name: 'acme/shop' } },
      },
      repository: { full_name: 'acme/shop' },
    }),
  );
  return file;
}
