import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ImageResult, ResultsFile, Verdict } from '../../src/model.js';
import { startGitHubApi, type GitHubApi } from '../../test-support/github-api.js';
import { startRegistry, type PushOptions, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { readStandinLog, scansIn, tempDir } from './fixtures.js';

// Issue 7's acceptance, run as the runner runs it: `mode: discover` plans 4 shards over a real registry, 4 jobs
// run `mode: scan` on their shard's `images`, one `mode: report` job merges their results files, uploads SARIF and
// gates — and all of that must say exactly what ONE `mode: scan` run over the same registry says: the same images
// (refs, digests, tags, file origins), the same findings per image, the same verdict, the same SARIF runs (one
// category per image). Each unique digest is scanned once in total, however many tags or repositories carry it.
// Each matrix entry is pinned to the digests discovery resolved and names its plan; the report job gets the plan.

const USER = 'scanner';
const PASSWORD = 'Pipe1ine-Registry-Pa55';
const GITHUB_TOKEN = 'ghs_pipelineTokenValue0123456789';

type Results = ResultsFile & { verdict: Verdict };

/** What the test pushed: its own record of which ref is which digest (never read back from the action). */
interface Pushed {
  repository: string;
  tag: string;
  digest: string;
}

let registry: TestRegistry;
let mirror: ReleaseMirror;
const pushed: Pushed[] = [];

/**
 * Eleven tags, eight unique images: api 1.0/stable share a digest, tools 3.1/latest too, and base/alpine and
 * mirror/alpine hold the same image in two repositories. `created` orders discovery (newest first).
 */
const IMAGES: { repository: string; tags: string[]; image: PushOptions }[] = [
  {
    repository: 'shop/api',
    tags: ['1.0', 'stable'],
    image: { labels: { 'standin.report': 'alpine-vulns' }, layerContent: 'api-1', created: '2026-10-01T08:00:00Z' },
  },
  {
    repository: 'shop/api',
    tags: ['0.9'],
    image: { labels: { 'standin.report': 'critical-heavy' }, layerContent: 'api-0', created: '2026-09-01T08:00:00Z' },
  },
  {
    repository: 'shop/web',
    tags: ['2.0'],
    image: { labels: { 'standin.report': 'node-app' }, layerContent: 'web-2.0', created: '2026-09-20T08:00:00Z' },
  },
  {
    repository: 'shop/web',
    tags: ['2.1'],
    image: { labels: { 'standin.report': 'node-app' }, layerContent: 'web-2.1', created: '2026-10-02T08:00:00Z' },
  },
  {
    repository: 'base/tools',
    tags: ['3.1', 'latest'],
    image: { labels: { 'standin.report': 'clean' }, layerContent: 'tools', created: '2026-08-01T08:00:00Z' },
  },
  {
    repository: 'base/alpine',
    tags: ['3.19'],
    image: { labels: { 'standin.report': 'alpine-vulns' }, layerContent: 'alpine', created: '2026-07-01T08:00:00Z' },
  },
  {
    repository: 'mirror/alpine',
    tags: ['3.19'],
    image: { labels: { 'standin.report': 'alpine-vulns' }, layerContent: 'alpine', created: '2026-07-01T08:00:00Z' },
  },
  {
    repository: 'ops/legacy',
    tags: ['1'],
    image: { labels: { 'standin.report': 'critical-heavy' }, layerContent: 'legacy', created: '2026-06-01T08:00:00Z' },
  },
  {
    repository: 'ops/agent',
    tags: ['5'],
    image: { labels: { 'standin.report': 'clean' }, layerContent: 'agent', created: '2026-05-01T08:00:00Z' },
  },
]; // prettier-ignore
const UNIQUE_DIGESTS = 8;

beforeAll(async () => {
  [registry, mirror] = await Promise.all([
    startRegistry({ auth: 'htpasswd', tls: true, users: { [USER]: PASSWORD } }),
    startReleaseMirror(),
  ]);
  for (const { repository, tags, image } of IMAGES) {
    for (const tag of tags) {
      const { digest } = await registry.push(repository, tag, image);
      pushed.push({ repository, tag, digest });
    }
  }
  const digests = new Set(pushed.map((p) => p.digest));
  if (digests.size !== UNIQUE_DIGESTS) throw new Error(`fixture: expected ${UNIQUE_DIGESTS} digests`);
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

const ref = (repository: string, tag: string) => `${registry.host}/${repository}:${tag}`;

/** The digest the test pushed under a scanned reference (`host/repo:tag` or `host/repo@sha256:...`). */
function digestOfRef(scanned: string): string {
  const at = scanned.indexOf('@');
  if (at >= 0) return scanned.slice(at + 1);
  const found = pushed.find((p) => ref(p.repository, p.tag) === scanned);
  if (!found) throw new Error(`scanned an unknown reference ${scanned}`);
  return found.digest;
}

function readResults(run: ActionRun): Results {
  const file = run.outputs['results-file'];
  if (!file) throw new Error(`no results-file output:\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
}

/** An image as the reader sees it: every name it goes by, where it is referenced, and what was found. */
function comparable(image: ImageResult) {
  const { target } = image;
  return {
    ref: target.ref,
    digest: image.digest,
    status: image.status,
    names: [...new Set([target.tag, ...(target.tags ?? [])].filter(Boolean))].sort(),
    origins: target.origins.map((o) => `${o.file}:${o.line}`).sort(),
    // A shard scans `repo:tag@digest` (pinned by the plan), and Trivy names its OS result after what it scanned.
    findings: image.findings.map((f) => ({ ...f, target: f.target.replace(/@sha256:[0-9a-f]{64}/, '') })),
  };
}

/** A SARIF log without what legitimately differs between two runs (timings of the invocation). */
function sarifRuns(log: unknown) {
  const runs = (log as { runs: Record<string, unknown>[] }).runs.map((run) => {
    const { invocations: _invocations, ...rest } = run;
    return rest as { automationDetails: { id: string } } & Record<string, unknown>;
  });
  return runs.sort((a, b) => (a.automationDetails.id < b.automationDetails.id ? -1 : 1));
}

interface MatrixEntry {
  shard: number;
  images: string;
  count: number;
}

describe('discover → 4 shard jobs → report, against one single run', () => {
  let pipelineApi: GitHubApi;
  let singleApi: GitHubApi;
  let workspace: string;
  let toolCache: string;
  let pipelineLog: string;
  let singleLog: string;
  let discover: ActionRun;
  let discoverAgain: ActionRun;
  let matrix: { include: MatrixEntry[] };
  let shards: ActionRun[];
  let report: ActionRun;
  let single: ActionRun;

  beforeAll(async () => {
    [pipelineApi, singleApi] = await Promise.all([startGitHubApi(), startGitHubApi()]);
    const dir = tempDir('isg-pipeline-');
    pipelineLog = path.join(dir, 'pipeline.log');
    singleLog = path.join(dir, 'single.log');
    workspace = tempDir('isg-pipeline-ws-');
    toolCache = tempDir('isg-pipeline-tools-');
    // The Dockerfile names shop/api by its *other* tag, and the policy ignores a CVE only for that tag: both
    // only work in the fan-in job if the shard jobs scanned the image under all its tags.
    fs.writeFileSync(
      path.join(workspace, 'Dockerfile'),
      [`FROM ${ref('shop/api', 'stable')} AS api`, 'RUN make', `FROM ${ref('shop/web', '2.1')}`, ''].join(
        '\n',
      ),
    );
    fs.writeFileSync(
      path.join(workspace, 'policy.yaml'),
      [
        'fail-on: high',
        'ignore:',
        '  - id: CVE-2023-38545',
        '    reason: curl is not used at runtime',
        '    expires: 2099-12-31',
        `    images: ["${ref('shop/api', 'stable')}"]`,
        '',
      ].join('\n'),
    );
    const credentials = { 'registry-username': USER, 'registry-password': PASSWORD };
    const trivy = { 'trivy-download-url': mirror.baseUrl, 'trivy-checksum': mirror.sha256, parallel: '2' };

    // 1. The planning job.
    const discoverInputs = { ...credentials, mode: 'discover', registry: registry.host, shards: '4' };
    discover = await runAction({ inputs: discoverInputs, env: registry.env, dirs: { workspace, toolCache } });
    discoverAgain = await runAction({
      inputs: discoverInputs,
      env: registry.env,
      dirs: { workspace, toolCache },
    });
    matrix = JSON.parse(discover.outputs.matrix) as { include: MatrixEntry[] };

    // 2. One job per matrix entry, as `strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}` starts them:
    // separate runners (own RUNNER_TEMP), one workspace standing for the artifacts the report job downloads.
    const shardRun = (entry: MatrixEntry) =>
      runAction({
        inputs: {
          ...credentials,
          ...trivy,
          images: entry.images,
          'output-dir': `shard-${entry.shard}`,
          'upload-sarif': 'false',
          'pr-comment': 'never',
          gate: 'off',
        },
        env: { ...registry.env, GITHUB_API_URL: pipelineApi.url, STANDIN_LOG: pipelineLog },
        dirs: { workspace, toolCache },
      });
    // The first job fills the tool cache; the others run side by side, as matrix jobs do.
    const [first, ...rest] = matrix.include;
    shards = [await shardRun(first), ...(await Promise.all(rest.map(shardRun)))];

    // 3. The fan-in job: merge, upload, gate.
    report = await runAction({
      inputs: {
        mode: 'report',
        reports: 'shard-*/results.json',
        'discover-files': 'Dockerfile',
        policy: 'policy.yaml',
        'output-dir': 'merged',
        'github-token': GITHUB_TOKEN,
        plan: discover.outputs.matrix,
      },
      env: { GITHUB_API_URL: pipelineApi.url, STANDIN_LOG: pipelineLog },
      dirs: { workspace, toolCache },
    });

    // The reference: one job doing it all over the same registry.
    single = await runAction({
      inputs: {
        ...credentials,
        ...trivy,
        registry: registry.host,
        'discover-files': 'Dockerfile',
        policy: 'policy.yaml',
        'output-dir': 'single',
        'github-token': GITHUB_TOKEN,
      },
      env: { ...registry.env, GITHUB_API_URL: singleApi.url, STANDIN_LOG: singleLog },
      dirs: { workspace, toolCache },
    });
  }, 300_000);

  afterAll(async () => {
    await Promise.all([pipelineApi?.close(), singleApi?.close()]);
  });

  test('discover plans 4 shards that hold every image once, balanced by image count, with all its tags', () => {
    expect(discover.exitCode, discover.stdout + discover.stderr).toBe(0);
    expect(matrix.include.map((e) => e.shard)).toEqual([1, 2, 3, 4]);
    const id = /^# image-scan-gate plan ([0-9a-f]{12}) /.exec(matrix.include[0].images)?.[1];
    const [headers, refsPerShard] = [
      matrix.include.map((e) => e.images.split('\n')[0]),
      matrix.include.map((e) => e.images.split('\n').slice(1)),
    ];
    expect(headers).toEqual([1, 2, 3, 4].map((k) => `# image-scan-gate plan ${id} shard ${k}/4`));
    for (const [i, e] of matrix.include.entries()) expect(refsPerShard[i]).toHaveLength(e.count);
    // Every pushed tag is listed exactly once, pinned to its digest, in the shard of its digest; no digest spans
    // two shards.
    const listed = refsPerShard.flat();
    expect([...listed].sort()).toEqual(pushed.map((p) => `${ref(p.repository, p.tag)}@${p.digest}`).sort());
    const shardOfDigest = new Map<string, number>();
    const imagesPerShard = matrix.include.map(() => new Set<string>());
    refsPerShard.forEach((refs, i) => {
      for (const r of refs) {
        const d = digestOfRef(r);
        expect(shardOfDigest.get(d) ?? i).toBe(i);
        shardOfDigest.set(d, i);
        imagesPerShard[i].add(d);
      }
    });
    // Eight unique images over four shards: two each.
    expect(imagesPerShard.map((s) => s.size)).toEqual([2, 2, 2, 2]);
    // The `images` output names each discovered image with its digest.
    const images = JSON.parse(discover.outputs.images) as { ref: string; digest: string }[];
    for (const i of images) expect(i.digest).toBe(digestOfRef(i.ref));
    expect(new Set(images.map((i) => i.digest)).size).toBe(UNIQUE_DIGESTS);
  });

  test('discover is deterministic: the same registry gives the identical matrix and images', () => {
    expect(discoverAgain.exitCode).toBe(0);
    expect(discoverAgain.outputs.matrix).toBe(discover.outputs.matrix);
    expect(discoverAgain.outputs.images).toBe(discover.outputs.images);
  });

  test('each unique digest is scanned exactly once across all shard jobs (and once in the single run)', () => {
    for (const s of shards) expect(s.exitCode, s.stdout + s.stderr).toBe(0);
    // Each shard job recorded which shard of which plan it was, and what it was given.
    const id = /^# image-scan-gate plan ([0-9a-f]{12}) /.exec(matrix.include[0].images)?.[1];
    expect(shards.map((s) => readResults(s).plan)).toEqual(
      matrix.include.map((e) => ({ id, shard: e.shard, shards: 4, images: e.images.split('\n').slice(1) })),
    );
    for (const log of [pipelineLog, singleLog]) {
      const scanned = scansIn(readStandinLog(log)).map((s) => digestOfRef(s.argv.at(-1)!));
      expect(scanned.sort()).toEqual([...new Set(pushed.map((p) => p.digest))].sort());
    }
  });

  test('the report job sees the same images as the single run: refs, digests, tags, file origins, findings', () => {
    const merged = readResults(report).images.map(comparable);
    const alone = readResults(single).images.map(comparable);
    const byRef = (a: { ref: string }, b: { ref: string }) => (a.ref < b.ref ? -1 : 1);
    expect(merged.map((i) => i.ref).sort()).toEqual(alone.map((i) => i.ref).sort());
    expect([...merged].sort(byRef)).toEqual([...alone].sort(byRef));

    // And what they say is what the registry holds (checked against the test's own record, not each other).
    const api = merged.find((i) => i.digest === pushed.find((p) => p.tag === 'stable')!.digest)!;
    expect(api).toMatchObject({ names: ['1.0', 'stable'], origins: ['Dockerfile:1'], status: 'scanned' });
    const alpine = merged.filter((i) => i.ref.endsWith('/alpine:3.19'));
    expect(alpine.map((i) => i.ref).sort()).toEqual([
      ref('base/alpine', '3.19'),
      ref('mirror/alpine', '3.19'),
    ]);
    expect(alpine[0].digest).toBe(alpine[1].digest);
    expect(merged.find((i) => i.ref === ref('shop/web', '2.1'))?.origins).toEqual(['Dockerfile:3']);
    expect(merged).toHaveLength(UNIQUE_DIGESTS + 1); // base/alpine and mirror/alpine stay two images
  });

  test('the same verdict: result, violations, ignores (the tag-scoped ignore applies in both)', () => {
    const merged = readResults(report).verdict;
    const alone = readResults(single).verdict;
    expect(merged).toEqual(alone);
    expect(merged.result).toBe('fail');
    expect(merged.ignored.map((i) => [i.image, i.findingId])).toEqual([
      [ref('shop/api', '1.0'), 'CVE-2023-38545'],
    ]);
    expect(report.exitCode).toBe(1);
    expect(single.exitCode).toBe(1);
    for (const name of [
      'result',
      'critical',
      'high',
      'medium',
      'low',
      'unknown',
      'fixable',
      'violations',
      'images',
    ])
      expect(report.outputs[name], name).toBe(single.outputs[name]);
  });

  test('the same SARIF, uploaded by the report job: one category per repository, same rules and fingerprints', () => {
    const merged = [...pipelineApi.state.sarifs.values()];
    const alone = [...singleApi.state.sarifs.values()];
    expect(merged).toHaveLength(1);
    expect(alone).toHaveLength(1);
    expect(pipelineApi.violations).toEqual([]);
    expect(singleApi.violations).toEqual([]);
    const mergedRuns = sarifRuns(merged[0].sarif);
    expect(mergedRuns).toEqual(sarifRuns(alone[0].sarif));
    const ids = mergedRuns.map((r) => r.automationDetails.id);
    expect(new Set(ids).size).toBe(ids.length);
    // shop/api's two images (1.0 = stable, and 0.9) share the repository's one category: never `…/shop/api:1.0/`.
    expect(ids).toContain(`image-scan/${registry.host}/shop/api/`);
    expect(ids.some((id) => id.includes('shop/api:'))).toBe(false);
    expect(ids).toContain(`image-scan/${registry.host}/mirror/alpine/`);
    // The shard jobs uploaded nothing: only the report job talks to code scanning.
    expect(pipelineApi.requests.filter((r) => r.path.endsWith('/code-scanning/sarifs'))).toHaveLength(1);
  });
});
