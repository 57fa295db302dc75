import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../../test-support/paths.js';

interface ActionYml {
  inputs: Record<string, { default?: string; description: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string; post: string };
}

const action = parse(fs.readFileSync(path.join(projectRoot, 'action.yml'), 'utf8')) as ActionYml;
const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');

/** Rows of the README tables: `| \`name\` | ... |`. */
function documented(section: string): Set<string> {
  const start = readme.indexOf(`<!-- ${section}:start -->`);
  const end = readme.indexOf(`<!-- ${section}:end -->`);
  expect(start, `README has a ${section} table`).toBeGreaterThan(-1);
  const names = new Set<string>();
  for (const m of readme.slice(start, end).matchAll(/^\|\s*`([a-z0-9-]+)`/gm)) names.add(m[1]);
  return names;
}

describe('README and action.yml agree', () => {
  test('every input is documented, and nothing else', () => {
    expect([...documented('inputs')].sort()).toEqual(Object.keys(action.inputs).sort());
  });
  test('every output is documented, and nothing else', () => {
    expect([...documented('outputs')].sort()).toEqual(Object.keys(action.outputs).sort());
  });
  test('the action runs on node24 with a post step from the one bundle', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/index.js' });
  });
  test('PRODUCT.md names are all present (public interface is fixed)', () => {
    const fixed = [
      'images',
      'registry',
      'repositories',
      'exclude-repositories',
      'tags',
      'exclude-tags',
      'max-images-per-repository',
      'max-images',
      'discover-files',
      'registry-username',
      'registry-password',
      'registry-token',
      'registry-auth',
      'github-token',
      'trivy-version',
      'trivy-download-url',
      'trivy-checksum',
      'trivy-path',
      'db-repository',
      'java-db-repository',
      'cache-db',
      'scanners',
      'pkg-types',
      'platform',
      'timeout',
      'parallel',
      'ignore-file',
      'severity',
      'policy',
      'fail-on',
      'max-critical',
      'max-high',
      'max-medium',
      'max-low',
      'max-cvss',
      'ignore-unfixed',
      'gate',
      'upload-sarif',
      'sarif-category',
      'annotations',
      'pr-comment',
      'summary',
      'output-dir',
      'mode',
      'reports',
      'shards',
      'cache-results',
      'baseline',
      'new-findings-only',
    ];
    for (const name of fixed) expect(action.inputs, name).toHaveProperty([name]);
    const outputs = [
      'result',
      'images',
      'matrix',
      'critical',
      'high',
      'medium',
      'low',
      'unknown',
      'fixable',
      'violations',
      'new',
      'fixed',
      'results-file',
      'sarif-file',
      'summary-file',
      'sarif-ids',
      'comment-url',
      'sbom-files',
    ];
    expect(Object.keys(action.outputs).sort()).toEqual(outputs.sort());
  });
  test('the README gives the two commands of a fresh machine', () => {
    expect(readme).toContain('npm run demo');
    expect(readme).toContain('npm test');
  });
});
