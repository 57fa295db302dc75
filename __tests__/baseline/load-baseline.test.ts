import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  actionsBaselineStore,
  type BaselineCacheApi,
  type BaselineScope,
} from '../../src/baseline/baseline-store.js';
import {
  MAX_BASELINE_BYTES,
  baselineDelta,
  baselineRunKey,
  baselineScopes,
  readExplicitBaseline,
  restoreBaseline,
} from '../../src/baseline/load-baseline.js';
import { ConfigurationError } from '../../src/errors.js';
import { serializeResults } from '../../src/findings/results-file.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import { RESULTS_SCHEMA, type ImageResult, type ResultsFile } from '../../src/model.js';
import { effectivePolicy } from '../../src/policy/effective-policy.js';
import type { GitHubRunContext } from '../../src/publish/github-context.js';

const tempDir = (prefix = 'isg-baseline-') => mkdtempSync(path.join(os.tmpdir(), prefix));

function image(ref: string, ids: string[]): ImageResult {
  const [, registry, repository, tag] = /^([^/]+)\/(.+):([^:]+)$/.exec(ref)!;
  return {
    target: { ref, input: ref, registry, repository, tag, origins: [], sources: ['listed'] },
    status: 'scanned',
    findings: ids.map((id) => ({ id, pkg: 'p', severity: 'HIGH', class: 'os-pkgs', target: 't' })),
  };
}

function results(images: ImageResult[], createdAt = '2026-05-01T00:00:00Z'): ResultsFile {
  return {
    schema: RESULTS_SCHEMA,
    tool: { name: 'image-scan-gate', version: 'test' },
    createdAt,
    images,
    skipped: [],
  };
}

/** Like @actions/cache: immutable entries; restore by prefix gives the newest; files land where they were. */
function fakeCache(available = true) {
  const entries: { key: string; snapshot: string; dir: string }[] = [];
  const api: BaselineCacheApi = {
    isFeatureAvailable: () => available,
    restoreCache: (paths, primary, restoreKeys = []) => {
      const hit =
        entries.find((e) => e.key === primary) ??
        [...entries].reverse().find((e) => restoreKeys.some((k) => e.key.startsWith(k)));
      if (!hit) return Promise.resolve(undefined);
      cpSync(hit.snapshot, paths[0], { recursive: true });
      return Promise.resolve(hit.key);
    },
    saveCache: (paths, key) => {
      if (entries.some((e) => e.key === key)) return Promise.reject(new Error(`${key} exists`));
      const snapshot = tempDir('isg-cache-entry-');
      cpSync(paths[0], snapshot, { recursive: true });
      entries.push({ key, snapshot, dir: paths[0] });
      return Promise.resolve(1);
    },
  };
  return { api, entries };
}

const MAIN: BaselineScope = { repository: 'acme/app', category: 'image-scan', branch: 'main' };

describe('baseline store: the last run on a branch, through the Actions cache', () => {
  test('a run on main stores; a pull request into main on a fresh runner restores the newest', async () => {
    const cache = fakeCache();
    const work = tempDir();
    const file = path.join(work, 'results.json');

    const runner1 = actionsBaselineStore(path.join(tempDir(), 'b'), new MemoryLogger(), cache.api);
    writeFileSync(
      file,
      serializeResults(results([image('r.test/app:1', ['CVE-1'])], '2026-05-01T00:00:00Z')),
    );
    await runner1.save(MAIN, file, '100-1-x');
    writeFileSync(
      file,
      serializeResults(results([image('r.test/app:2', ['CVE-2'])], '2026-05-02T00:00:00Z')),
    );
    await runner1.save(MAIN, file, '101-1-x');
    await runner1.save({ ...MAIN, branch: 'release' }, file, '101-1-x');
    expect(cache.entries).toHaveLength(3);
    expect(new Set(cache.entries.map((e) => e.key)).size).toBe(3);

    const runner2 = actionsBaselineStore(path.join(tempDir(), 'b'), new MemoryLogger(), cache.api);
    const found = await restoreBaseline(MAIN, runner2, new MemoryLogger());
    expect(found).toMatchObject({
      baseline: { source: 'the last run on "main"', createdAt: '2026-05-02T00:00:00Z' },
    });
    expect('baseline' in found && found.baseline.images.map((i) => i.target.ref)).toEqual(['r.test/app:2']);

    const other = await restoreBaseline({ ...MAIN, branch: 'develop' }, runner2, new MemoryLogger());
    expect(other).toEqual({
      missing: 'no results of "develop" are stored yet (its first run, or the cache entry expired)',
    });
  });

  test('no cache service: the baseline a run on this runner stored is still found', async () => {
    const dir = path.join(tempDir(), 'b');
    const file = path.join(tempDir(), 'results.json');
    writeFileSync(file, serializeResults(results([image('r.test/app:1', ['CVE-1'])])));
    const cache = fakeCache(false);
    await actionsBaselineStore(dir, new MemoryLogger(), cache.api).save(MAIN, file, '1-1-x');
    const found = await restoreBaseline(
      MAIN,
      actionsBaselineStore(dir, new MemoryLogger(), cache.api),
      new MemoryLogger(),
    );
    expect('baseline' in found).toBe(true);
    expect(cache.entries).toEqual([]);
  });

  test('a damaged cache entry is no baseline and a warning, never an error or a pass', async () => {
    const dir = path.join(tempDir(), 'b');
    const file = path.join(tempDir(), 'results.json');
    writeFileSync(file, '{"schema":"image-scan-gate/results@1","images":"@everyone"}');
    const store = actionsBaselineStore(dir, new MemoryLogger(), fakeCache(false).api);
    await store.save(MAIN, file, '1-1-x');
    const logger = new MemoryLogger();
    const found = await restoreBaseline(MAIN, store, logger);
    expect(found).toEqual({ missing: 'the stored results of "main" cannot be used (see the log)' });
    expect(logger.entries.find((e) => e.level === 'warning')?.message).toMatch(
      /baseline: .* not a valid results file/,
    );
    expect(logger.entries.map((e) => e.message).join('\n')).not.toContain('@everyone');
  });
});

describe('baselineScopes: who restores, who stores', () => {
  const github = (over: Partial<GitHubRunContext>): GitHubRunContext => ({
    apiUrl: 'https://api.github.com',
    serverUrl: 'https://github.com',
    repository: { owner: 'acme', repo: 'app' },
    eventName: 'push',
    sha: 'abc',
    ref: 'refs/heads/main',
    readOnlyToken: false,
    workspace: '/ws',
    ...over,
  });
  const pr = {
    number: 7,
    headSha: 'h',
    headRepoFullName: 'acme/app',
    baseRepoFullName: 'acme/app',
    isFork: false,
    mergeRef: 'refs/pull/7/merge',
  };
  test.each<[string, Partial<GitHubRunContext>, NodeJS.ProcessEnv, object]>([
    ['push to main stores for main', {}, {}, { store: { ...MAIN } }],
    ['schedule stores', { eventName: 'schedule' }, {}, { store: MAIN }],
    ['a tag push stores nothing', { ref: 'refs/tags/v1' }, {}, {}],
    [
      'a pull request restores its base branch',
      { eventName: 'pull_request', ref: 'refs/pull/7/merge', pullRequest: pr },
      { GITHUB_BASE_REF: 'main' },
      { restore: MAIN },
    ],
    ['a release event does neither', { eventName: 'release' }, {}, {}],
  ])('%s', (_name, over, env, expected) => {
    expect(baselineScopes({ sarifCategory: 'image-scan' }, github(over), env)).toEqual(expected);
  });

  test('run keys differ per run, attempt, job and matrix entry', () => {
    const g = github({ runId: '9', runAttempt: '1', workflow: 'CI', job: 'scan' });
    const keys = new Set([
      baselineRunKey(g, undefined, ''),
      baselineRunKey({ ...g, runAttempt: '2' }, undefined, ''),
      baselineRunKey({ ...g, job: 'other' }, undefined, ''),
      baselineRunKey(g, '{"env":"prod"}', ''),
    ]);
    expect(keys.size).toBe(4);
  });
});

describe('the baseline input: confined, validated, refused before work naming `baseline`', () => {
  function setup() {
    const workspace = tempDir('isg-baseline-ws-');
    const temp = tempDir('isg-baseline-rt-');
    return { workspace, temp, config: (baseline: string[]) => ({ baseline, workspace, tempDir: temp }) };
  }
  async function refusal(promise: Promise<unknown>): Promise<ConfigurationError> {
    const e = await promise.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as ConfigurationError).input).toBe('baseline');
    return e as ConfigurationError;
  }

  test('files in the workspace and in RUNNER_TEMP are read and merged', async () => {
    const { workspace, temp, config } = setup();
    mkdirSync(path.join(workspace, 'base'));
    writeFileSync(
      path.join(workspace, 'base', 'a.json'),
      serializeResults(results([image('r.test/a:1', ['CVE-A'])])),
    );
    writeFileSync(
      path.join(temp, 'b.json'),
      serializeResults(results([image('r.test/b:1', ['CVE-B'])], '2026-05-03T00:00:00Z')),
    );
    const found = await readExplicitBaseline(
      config(['base/*.json', path.join(temp, 'b.json')]),
      new MemoryLogger(),
    );
    expect(found?.images.map((i) => i.target.ref).sort()).toEqual(['r.test/a:1', 'r.test/b:1']);
    expect(found?.createdAt).toBe('2026-05-03T00:00:00Z');
  });

  test('a glob escaping the workspace and RUNNER_TEMP is refused, never read', async () => {
    const { config } = setup();
    const e = await refusal(readExplicitBaseline(config(['../../../etc/*']), new MemoryLogger()));
    expect(e.message).toMatch(/outside the workspace and RUNNER_TEMP/);
    await refusal(readExplicitBaseline(config(['/etc/passwd']), new MemoryLogger()));
  });

  test('a symlink in the workspace leading out is refused', async () => {
    const { workspace, config } = setup();
    const outside = tempDir('isg-baseline-outside-');
    writeFileSync(path.join(outside, 'results.json'), serializeResults(results([])));
    symlinkSync(outside, path.join(workspace, 'base'));
    const e = await refusal(readExplicitBaseline(config(['base/*.json']), new MemoryLogger()));
    expect(e.message).not.toContain('image-scan-gate/results');
  });

  test.each<[string, string, RegExp]>([
    ['not JSON', 'root:x:0:0:root:/root:/bin/bash', /baseline: .* is not valid JSON \(syntax error/],
    ['another schema', '{"schema":"evil@9"}', /baseline: .* is not an Image Scan Gate results file/],
    [
      'a bad field',
      '{"schema":"image-scan-gate/results@1","tool":{"name":"image-scan-gate","version":"1"},"createdAt":"x","images":[{"status":"pwned"}]}',
      /baseline: .* is not a valid results file: images\[0\]/,
    ],
  ])('a malformed file (%s) is refused naming baseline, without echoing it', async (_name, text, message) => {
    const { workspace, config } = setup();
    writeFileSync(path.join(workspace, 'base.json'), text);
    const e = await refusal(readExplicitBaseline(config(['base.json']), new MemoryLogger()));
    expect(e.message).toMatch(message);
    expect(e.message).not.toMatch(/root:x|evil@9|pwned/);
  });

  test('a huge file is refused by its size, before it is read', async () => {
    const { workspace, config } = setup();
    const file = path.join(workspace, 'huge.json');
    writeFileSync(file, '');
    truncateSync(file, MAX_BASELINE_BYTES + 1); // sparse: costs no disk
    const e = await refusal(readExplicitBaseline(config(['huge.json']), new MemoryLogger()));
    expect(e.message).toMatch(/is larger than 256 MiB/);
    rmSync(file);
  });

  test('a glob that matches nothing is refused', async () => {
    const { config } = setup();
    const e = await refusal(readExplicitBaseline(config(['base/*.json']), new MemoryLogger()));
    expect(e.message).toMatch(/matches no file/);
  });
});

describe('baselineDelta: what the results file records', () => {
  const noRules = effectivePolicy(undefined, { max: {}, gate: 'enforce' });
  const newOnly = effectivePolicy(undefined, { max: {}, gate: 'enforce', newFindingsOnly: true });
  const current = [image('r.test/app:2', ['CVE-1', 'CVE-2'])];

  test('with a baseline: the comparison and where it came from', () => {
    const d = baselineDelta(
      { baseline: { images: [image('r.test/app:1', ['CVE-1'])], source: 'x', createdAt: 'y' } },
      current,
      noRules,
    );
    expect(d?.baseline).toEqual({ source: 'x', createdAt: 'y' });
    expect(d?.images.map((i) => [i.change, i.new.length, i.unchanged])).toEqual([['compared', 1, 1]]);
  });

  test('looked for and missing: says why and that the gate applies the full policy when the rules need it', () => {
    expect(baselineDelta({ missing: 'nothing stored' }, current, newOnly)?.missing).toBe(
      'No baseline to compare with: nothing stored; the gate applies the full policy to every finding.',
    );
    expect(baselineDelta({ missing: 'nothing stored' }, current, noRules)?.missing).toMatch(/shown as it is/);
  });

  test('not looked for: only said when the policy needs a baseline', () => {
    expect(baselineDelta(undefined, current, noRules)).toBeUndefined();
    expect(baselineDelta(undefined, current, newOnly)?.missing).toMatch(
      /not a pull request and the baseline input is empty/,
    );
  });
});
