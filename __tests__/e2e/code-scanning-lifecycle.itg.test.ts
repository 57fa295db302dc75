import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGitHubApi, type GitHubApi, type StoredSarif } from '../../test-support/github-api.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction } from '../../test-support/run-action.js';
import { validateSarifFiles } from '../../test-support/sarif-multitool.js';
import { pullRequestEvent, tempDir } from './fixtures.js';

// The code scanning alert lifecycle through the bundle, with the real registry and the OpenAPI-checked GitHub API:
// categories that keep their shape when a second tag of a repository is scanned, prune-categories closing the
// categories of images no longer scanned (and only on complete, non-PR runs), and ignored findings in SARIF.

const TOKEN = 'ghs_lifecycleToken0123456789';

interface SarifRunLike {
  automationDetails: { id: string };
  tool: { driver: { name: string } };
  results: { ruleId: string; message: { text: string }; suppressions?: unknown[] }[];
  properties: { imageName?: string; imageNames?: string[] };
}

let registry: TestRegistry;
let mirror: ReleaseMirror;

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  // Two tags of one repository with different images (and findings), and another repository.
  await registry.push('shop/api', '1.0', {
    labels: { 'standin.report': 'alpine-vulns' },
    layerContent: 'api-1',
  });
  await registry.push('shop/api', '1.1', { labels: { 'standin.report': 'node-app' }, layerContent: 'api-2' });
  await registry.push('shop/web', '2.0', { labels: { 'standin.report': 'clean' }, layerContent: 'web' });
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

const category = (repository: string) => `image-scan/${registry.host}/${repository}`;

function inputs(images: string[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    images: images.map((i) => `${registry.host}/${i}`).join('\n'),
    'github-token': TOKEN,
    'trivy-download-url': mirror.baseUrl,
    'trivy-checksum': mirror.sha256,
    'cache-db': 'false',
    'fail-on': 'none',
    'pr-comment': 'never',
    ...extra,
  };
}

async function run(
  github: GitHubApi,
  images: string[],
  extra: Record<string, string> = {},
  env: Record<string, string> = {},
  workspace?: string,
) {
  const result = await runAction({
    inputs: inputs(images, extra),
    env: { ...registry.env, GITHUB_API_URL: github.url, ...env },
    ...(workspace ? { dirs: { workspace } } : {}),
  });
  expect(result.exitCode, result.stderr + result.stdout).toBe(0);
  return result;
}

function uploadedRuns(github: GitHubApi): SarifRunLike[][] {
  return [...github.state.sarifs.values()].map(
    (s: StoredSarif) => (s.sarif as { runs: SarifRunLike[] }).runs,
  );
}

function onlyRunOf(runs: SarifRunLike[], id: string): SarifRunLike {
  const found = runs.filter((r) => r.automationDetails.id === id);
  expect(found).toHaveLength(1);
  return found[0];
}

function sarifFilesOf(result: Awaited<ReturnType<typeof run>>): string[] {
  const dir = path.join(result.dirs.workspace, 'image-scan-results');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sarif'))
    .map((f) => path.join(dir, f));
}

describe('categories keep their shape when a second tag joins', () => {
  let github: GitHubApi;
  let one: Awaited<ReturnType<typeof run>>;
  let two: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    github = await startGitHubApi({ sarif: { pendingPolls: 0 } });
    one = await run(github, ['shop/api:1.0', 'shop/web:2.0']);
    two = await run(github, ['shop/api:1.0', 'shop/api:1.1', 'shop/web:2.0']);
  }, 240_000);
  afterAll(() => github?.close());

  test('one tag, then two: the same categories, one run each, accepted by the API', () => {
    const [first, second] = uploadedRuns(github);
    const ids = (runs: SarifRunLike[]) => runs.map((r) => r.automationDetails.id).sort();
    expect(ids(first)).toEqual([`${category('shop/api')}/`, `${category('shop/web')}/`]);
    expect(ids(second)).toEqual(ids(first));
    expect(github.violations).toEqual([]);
  });

  test("the two tags' findings are merged into the repository's run, each result naming its images", () => {
    const api = onlyRunOf(uploadedRuns(github)[1], `${category('shop/api')}/`);
    const imageLine = (ruleId: string) =>
      api.results
        .find((r) => r.ruleId === ruleId)
        ?.message.text.split('\n')
        .at(-1);
    expect(imageLine('CVE-2023-38545')).toBe(`Image: ${registry.host}/shop/api:1.0`); // alpine-vulns only
    expect(imageLine('CVE-2023-45853')).toBe(`Image: ${registry.host}/shop/api:1.1`); // node-app only
    expect(api.properties.imageNames).toEqual([
      `${registry.host}/shop/api:1.0`,
      `${registry.host}/shop/api:1.1`,
    ]);
    const single = onlyRunOf(uploadedRuns(github)[0], `${category('shop/api')}/`);
    expect(single.results.some((r) => r.ruleId === 'CVE-2023-45853')).toBe(false);
  });

  test('trivy-action compatibility: a sarif-category ending in `/` is the exact category upload-sarif wrote', async () => {
    const exact = await run(github, ['shop/api:1.0'], {
      'sarif-category': '.github/workflows/scan.yml:scan/',
    });
    const runs = uploadedRuns(github).at(-1) ?? [];
    expect(runs.map((r) => [r.automationDetails.id, r.tool.driver.name])).toEqual([
      ['.github/workflows/scan.yml:scan/', 'Trivy'],
    ]);
    expect(exact.outputs['sarif-ids']).not.toBe('');
    expect(github.violations).toEqual([]);
  }, 120_000);

  test('the written SARIF passes the Multitool with GitHub’s rules', async () => {
    const files = [...sarifFilesOf(one), ...sarifFilesOf(two)];
    expect(files.length).toBeGreaterThanOrEqual(2);
    const validations = await validateSarifFiles(files);
    expect(validations.map((v) => v.errors)).toEqual(files.map(() => []));
  }, 300_000);
});

describe('prune-categories', () => {
  const seed = (github: GitHubApi, ref: string) => {
    github.addAnalysis({ ref, category: category('shop/api') }); // still scanned
    github.addAnalysis({ ref, category: `${category('shop/gone')}/` }); // no longer scanned
    github.addAnalysis({ ref, category: 'other-prefix/ghcr.io/acme/x' }); // not this action's
    github.addAnalysis({ ref, category: category('shop/codeql'), toolName: 'CodeQL' }); // another tool
    github.addAnalysis({ ref: 'refs/heads/release', category: category('shop/elsewhere') }); // another ref
  };
  const listings = (github: GitHubApi) =>
    github.requests.filter((r) => r.operationId === 'code-scanning/list-recent-analyses');

  test('on push: one empty run closes the stale category, listed in the summary; nothing else is touched', async () => {
    const github = await startGitHubApi({ sarif: { pendingPolls: 0 } });
    try {
      seed(github, 'refs/heads/main');
      const result = await run(github, ['shop/api:1.0', 'shop/web:2.0'], { 'prune-categories': 'true' });
      const uploads = uploadedRuns(github);
      expect(uploads).toHaveLength(2);
      const closing = uploads[1];
      expect(closing.map((r) => r.automationDetails.id)).toEqual([`${category('shop/gone')}/`]);
      expect(closing[0].results).toEqual([]);
      expect(closing[0].tool.driver.name).toBe('Trivy');
      expect(listings(github)[0].query).toMatchObject({ ref: 'refs/heads/main', tool_name: 'Trivy' });
      expect(result.summary).toContain(
        `prune-categories: closed the code scanning alerts of 1 category whose images are no longer scanned: ${category('shop/gone')}`,
      );
      expect(result.outputs['sarif-ids'].split(',')).toHaveLength(2);
      const validations = await validateSarifFiles(sarifFilesOf(result));
      expect(validations.map((v) => v.errors)).toEqual(sarifFilesOf(result).map(() => []));
      expect(github.violations).toEqual([]);
    } finally {
      await github.close();
    }
  }, 300_000);

  test('on a pull request: nothing is listed or closed, and the summary says why', async () => {
    const github = await startGitHubApi({ sarif: { pendingPolls: 0 } });
    try {
      seed(github, 'refs/pull/9/merge');
      const dir = tempDir('isg-prune-pr-');
      const result = await run(
        github,
        ['shop/api:1.0'],
        { 'prune-categories': 'true' },
        {
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: pullRequestEvent(dir, { number: 9 }),
          GITHUB_REF: 'refs/pull/9/merge',
        },
      );
      expect(listings(github)).toEqual([]);
      expect(uploadedRuns(github)).toHaveLength(1);
      expect(result.summary).toContain('prune-categories: no category closed: not on pull requests');
      expect(github.violations).toEqual([]);
    } finally {
      await github.close();
    }
  }, 120_000);

  test('a partial run — a shard job, then a report job missing a shard — closes nothing', async () => {
    const github = await startGitHubApi({ sarif: { pendingPolls: 0 } });
    try {
      seed(github, 'refs/heads/main');
      const shard = await run(github, [], {
        images: `# image-scan-gate plan 0123456789ab shard 1/2\n${registry.host}/shop/api:1.0`,
        'prune-categories': 'true',
        'output-dir': 'shard-1',
      });
      expect(shard.summary).toContain(
        'prune-categories: no category closed: this run may not hold every image',
      );
      // The report job gets shard 1's results only: shard 2 of the plan is missing.
      const report = await run(
        github,
        [],
        {
          images: '',
          mode: 'report',
          reports: 'shard-1/results.json',
          'prune-categories': 'true',
          gate: 'off',
        },
        {},
        shard.dirs.workspace,
      );
      expect(report.summary).toContain(
        'prune-categories: no category closed: this run may not hold every image',
      );
      expect(listings(github)).toEqual([]);
      for (const runs of uploadedRuns(github)) {
        expect(runs.some((r) => r.automationDetails.id === `${category('shop/gone')}/`)).toBe(false);
      }
      expect(github.violations).toEqual([]);
    } finally {
      await github.close();
    }
  }, 240_000);
});

describe('sarif-include-ignored', () => {
  test('ignored findings are left out of SARIF by default, kept as suppressions with it', async () => {
    const github = await startGitHubApi({ sarif: { pendingPolls: 0 } });
    try {
      const workspace = tempDir('isg-ignored-');
      fs.writeFileSync(path.join(workspace, '.trivyignore'), 'CVE-2023-38545\n');
      const runIn = async (extra: Record<string, string>) => {
        const result = await runAction({
          inputs: inputs(['shop/api:1.0'], extra),
          env: { ...registry.env, GITHUB_API_URL: github.url },
          dirs: { workspace },
        });
        expect(result.exitCode, result.stderr + result.stdout).toBe(0);
      };
      await runIn({});
      await runIn({ 'sarif-include-ignored': 'true' });
      const [left, kept] = uploadedRuns(github).map((runs) => onlyRunOf(runs, `${category('shop/api')}/`));
      expect(left.results.some((r) => r.ruleId === 'CVE-2023-38545')).toBe(false);
      expect(left.results.some((r) => r.ruleId === 'CVE-2023-5363')).toBe(true);
      expect(kept.results.find((r) => r.ruleId === 'CVE-2023-38545')?.suppressions).toEqual([
        { kind: 'external', status: 'accepted' },
      ]);
      expect(github.violations).toEqual([]);
    } finally {
      await github.close();
    }
  }, 240_000);
});
