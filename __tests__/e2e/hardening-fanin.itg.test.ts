import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseResultsFile } from '../../src/findings/results-file.js';
import type { ResultsFile, Verdict } from '../../src/model.js';
import { startRegistry, type PushOptions, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { readStandinLog, scansIn, templateCounts, tempDir } from './fixtures.js';
import { MARKERS, expectNoLeak, markedCredentialInputs, markedRunnerEnv } from './hardening-harness.js';

// Fan-in integrity, run as the runner runs it (SECURITY.md rule 9, "nothing lost"): `mode: discover` pins every
// matrix entry to the digests it resolved and names its plan; a shard that crashed, a results file that lost an
// image, results of two plans mixed, a tag moved between plan and scan — each is caught and named by the report
// (or shard) job, fails the gate (or warns with `scan-errors: warn`), and every other image is still reported.
// Every credential input and the runner environment carry markers, searched for after each run.

type Results = ResultsFile & { verdict: Verdict };

interface MatrixEntry {
  shard: number;
  images: string;
  count: number;
}

interface PlanOutput {
  id: string;
  shards: { shard: number; images: string[] }[];
}

/** The plan a matrix carries, read by the test itself: the id from the first entry's header, the lines after it. */
function planOf(matrixJson: string): PlanOutput {
  const { include } = JSON.parse(matrixJson) as { include: MatrixEntry[] };
  const id = /^# image-scan-gate plan ([0-9a-f]{12}) /.exec(include[0].images)?.[1] ?? 'none';
  return { id, shards: include.map((e) => ({ shard: e.shard, images: e.images.split('\n').slice(1) })) };
}

let registry: TestRegistry;
let mirror: ReleaseMirror;
/** The test's own record of what it pushed: ref (host/repo:tag) -> digest. */
const pushed = new Map<string, string>();

/** Six unique images: api 1.0/stable share a digest; files/app comes from a Dockerfile, ops/listed from `images`. */
const IMAGES: { repository: string; tags: string[]; image: PushOptions }[] = [
  { repository: 'shop/api', tags: ['1.0', 'stable'], image: { labels: { 'standin.report': 'clean' }, layerContent: 'api' } },
  { repository: 'shop/web', tags: ['2'], image: { labels: { 'standin.report': 'clean' }, layerContent: 'web' } },
  { repository: 'shop/db', tags: ['5'], image: { labels: { 'standin.report': 'clean' }, layerContent: 'db' } },
  { repository: 'shop/moving', tags: ['1'], image: { labels: { 'standin.report': 'alpine-vulns' }, layerContent: 'moving-old' } },
  { repository: 'files/app', tags: ['1'], image: { labels: { 'standin.report': 'clean' }, layerContent: 'app' } },
  { repository: 'ops/listed', tags: ['2'], image: { labels: { 'standin.report': 'clean' }, layerContent: 'listed' } },
]; // prettier-ignore

const ref = (repository: string, tag: string) => `${registry.host}/${repository}:${tag}`;
const trivyInputs = () => ({ 'trivy-download-url': mirror.baseUrl, 'trivy-checksum': mirror.sha256 });

let workspace: string;
let toolCache: string;
let standinLog: string;
let discover: ActionRun;
let matrix: { include: MatrixEntry[] };
let plan: PlanOutput;
let shardRuns: ActionRun[];

function discoverInputs(shards: string): Record<string, string> {
  return {
    ...markedCredentialInputs(),
    mode: 'discover',
    registry: registry.host,
    repositories: 'shop/**',
    images: ref('ops/listed', '2'),
    'discover-files': 'Dockerfile',
    shards,
  };
}

function runShard(entry: MatrixEntry, outputDir: string, log = standinLog) {
  return runAction({
    inputs: {
      ...markedCredentialInputs(),
      ...trivyInputs(),
      images: entry.images,
      'output-dir': outputDir,
      'upload-sarif': 'false',
      'pr-comment': 'never',
      gate: 'off',
    },
    env: { ...registry.env, ...markedRunnerEnv(), STANDIN_LOG: log },
    dirs: { workspace, toolCache },
  });
}

/** A report job over the named shard results (copied as its artifacts would be downloaded). */
async function runReport(
  shards: Record<string, string>,
  extra: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const ws = tempDir('isg-fanin-report-');
  for (const [name, from] of Object.entries(shards)) {
    fs.mkdirSync(path.join(ws, 'shards', name), { recursive: true });
    fs.copyFileSync(from, path.join(ws, 'shards', name, 'results.json'));
  }
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(ws, name), text);
  const run = await runAction({
    inputs: {
      ...markedCredentialInputs(),
      mode: 'report',
      reports: 'shards/**/results.json',
      'fail-on': 'none', // only what the fan-in check finds can fail these runs
      ...extra,
    },
    env: markedRunnerEnv(),
    dirs: { workspace: ws, toolCache },
  });
  expect(run.exitCode, 'the report job finished').not.toBeNull();
  expectNoLeak(run);
  return run;
}

/** The results file, read back with the action's own reader: proves it is a valid results@1 file. */
function results(run: ActionRun): Results {
  const file = run.outputs['results-file'];
  expect(file, `no results-file output\n${run.stdout}\n${run.stderr}`).toBeTruthy();
  return parseResultsFile(fs.readFileSync(file, 'utf8'), file) as Results;
}

const resultsOf = (k: number) => path.join(workspace, `shard-${k}`, 'results.json');
const allShards = () => ({ 'shard-1': resultsOf(1), 'shard-2': resultsOf(2), 'shard-3': resultsOf(3) });
const pinnedLines = (entry: MatrixEntry) => entry.images.split('\n').slice(1);
/** The failure the runner shows (`::error::` from setFailed), decoded. */
const failure = (run: ActionRun) =>
  decodeURIComponent(
    run.stdout
      .split('\n')
      .filter((l) => l.startsWith('::error::'))
      .join('\n'),
  );

beforeAll(async () => {
  [registry, mirror] = await Promise.all([
    startRegistry({ auth: 'htpasswd', tls: true, users: { 'marker-user': MARKERS.registryPassword } }),
    startReleaseMirror(),
  ]);
  for (const { repository, tags, image } of IMAGES) {
    // A fixed `created`: the same image pushed under a second tag has the same digest.
    const fixed = { created: '2026-05-01T08:00:00Z', ...image };
    for (const tag of tags)
      pushed.set(ref(repository, tag), (await registry.push(repository, tag, fixed)).digest);
  }
  workspace = tempDir('isg-fanin-ws-');
  toolCache = tempDir('isg-fanin-tools-');
  standinLog = path.join(tempDir('isg-fanin-log-'), 'standin.log');
  fs.writeFileSync(path.join(workspace, 'Dockerfile'), `FROM ${ref('files/app', '1')}\n`);

  discover = await runAction({
    inputs: discoverInputs('3'),
    env: { ...registry.env, ...markedRunnerEnv() },
    dirs: { workspace, toolCache },
  });
  matrix = JSON.parse(discover.outputs.matrix) as { include: MatrixEntry[] };
  plan = planOf(discover.outputs.matrix);
  // The first job fills the tool cache; the others run side by side, as matrix jobs do.
  const [first, ...rest] = matrix.include;
  shardRuns = [
    await runShard(first, 'shard-1'),
    ...(await Promise.all(rest.map((e) => runShard(e, `shard-${e.shard}`)))),
  ];
}, 300_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

describe('fan-in integrity: discover → shards → report', () => {
  test('discover pins every line to the digest it resolved (registry, listed and Dockerfile images alike), tags of one digest in one shard', () => {
    expect(discover.exitCode, discover.stdout + discover.stderr).toBe(0);
    expectNoLeak(discover);
    expect(matrix.include.map((e) => e.images.split('\n')[0])).toEqual(
      [1, 2, 3].map((k) => `# image-scan-gate plan ${plan.id} shard ${k}/3`),
    );
    const lines = matrix.include.flatMap(pinnedLines);
    expect([...lines].sort()).toEqual([...pushed].map(([r, d]) => `${r}@${d}`).sort());
    const shardOf = (line: string) => matrix.include.find((e) => pinnedLines(e).includes(line))!.shard;
    const api = pushed.get(ref('shop/api', '1.0'))!;
    expect(shardOf(`${ref('shop/api', '1.0')}@${api}`)).toBe(shardOf(`${ref('shop/api', 'stable')}@${api}`));
    // Six images, two per shard (in ref order: files/app + ops/listed, shop/api ×2 tags + shop/db, the rest).
    expect(matrix.include.map((e) => e.count)).toEqual([2, 3, 2]);
    // Every shard job scanned its digests once each, by digest, and recorded its shard.
    for (const s of shardRuns) expect(s.exitCode, s.stdout + s.stderr).toBe(0);
    const scanned = scansIn(readStandinLog(standinLog)).map((s) => s.argv.at(-1)!);
    expect(scanned).toHaveLength(6);
    for (const line of scanned) expect(line).toMatch(/:[^/@]+@sha256:[0-9a-f]{64}$/);
    expect(shardRuns.map((s) => results(s).plan)).toEqual(
      plan.shards.map((p) => ({ id: plan.id, shard: p.shard, shards: 3, images: p.images })),
    );
    // ...and reported each image by its tag, as a single run would.
    const refs = shardRuns.flatMap((s) => results(s).images.map((i) => i.target.ref));
    expect(refs.every((r) => !r.includes('@'))).toBe(true);
    // The shard jobs started the stand-in: its argv and environment are searched too.
    for (const s of shardRuns) expectNoLeak(s, { standinLog });
  });

  test('a shard that crashed (no results at all), without `plan`: the gate fails naming the shard', async () => {
    const run = await runReport({ 'shard-1': resultsOf(1), 'shard-3': resultsOf(3) });
    const name = `shard 2/3 of plan ${plan.id}`;
    expect(run.exitCode).toBe(1);
    expect(run.outputs.result).toBe('fail');
    expect(failure(run)).toContain(`${name} sent no results`);
    const r = results(run);
    expect(r.images.find((i) => i.target.ref === name)).toMatchObject({ status: 'failed' });
    expect(r.verdict.violations.map((v) => [v.rule, v.image])).toEqual([['scan-error', name]]);
    // Every image of the shards that did report is still there, scanned.
    const received = [...pinnedLines(matrix.include[0]), ...pinnedLines(matrix.include[2])];
    for (const line of received) {
      const image = r.images.find((i) => i.digest === line.split('@')[1]);
      expect(image?.status, line).toBe('scanned');
    }
    expect(run.summary).toContain(`${name} sent no results`);
  });

  test('the same crash with `plan`: each image the shard was given is named, as a failed scan', async () => {
    const run = await runReport(
      { 'shard-1': resultsOf(1), 'shard-3': resultsOf(3) },
      { plan: discover.outputs.matrix },
    );
    expect(run.exitCode).toBe(1);
    const lost = pinnedLines(matrix.include[1]);
    const r = results(run);
    const failed = r.images.filter((i) => i.status === 'failed');
    // One failed image per digest, carrying every tag it was planned under (as the shard would have reported it).
    const names = failed.flatMap((i) =>
      [i.target.tag, ...(i.target.tags ?? [])].map(
        (tag) => `${registry.host}/${i.target.repository}:${tag}@${i.digest}`,
      ),
    );
    expect(names.sort()).toEqual([...lost].sort());
    for (const i of failed) expect(i.error).toContain(`shard 2/3 of plan ${plan.id} sent no results`);
    for (const i of failed)
      expect(failure(run)).toContain(`${i.target.ref}: the scan failed: shard 2/3 of plan`);
    for (const line of lost) expect(run.stdout).toContain(line); // the warning lists every planned line
    expect(r.images.filter((i) => i.status === 'scanned')).toHaveLength(4);
  });

  test('with `scan-errors: warn` in the policy file, the missing shard warns instead, still named', async () => {
    const run = await runReport(
      { 'shard-1': resultsOf(1), 'shard-3': resultsOf(3) },
      { plan: discover.outputs.matrix, policy: 'policy.yml' },
      { 'policy.yml': 'scan-errors: warn\n' },
    );
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs.result).toBe('warn');
    expect(run.stdout).toMatch(/::warning::.*shard 2\/3 of plan [0-9a-f]{12} sent no results/);
    const r = results(run);
    const lostDigests = new Set(pinnedLines(matrix.include[1]).map((l) => l.split('@')[1]));
    expect(r.verdict.warnings?.map((w) => w.rule)).toEqual([...lostDigests].map(() => 'scan-error'));
    expect(r.verdict.violations).toEqual([]);
    expect(run.summary).toContain('shard 2/3 of plan');
  });

  test('a results file that lost one planned image: that image is named, with the shard and the file', async () => {
    const dir = tempDir('isg-fanin-cut-');
    const cut = path.join(dir, 'results.json');
    const shard3 = JSON.parse(fs.readFileSync(resultsOf(3), 'utf8')) as Results;
    const [lost, ...kept] = shard3.images;
    fs.writeFileSync(cut, JSON.stringify({ ...shard3, images: kept }));
    const run = await runReport({ 'shard-1': resultsOf(1), 'shard-2': resultsOf(2), 'shard-3': cut });
    expect(run.exitCode).toBe(1);
    const r = results(run);
    const failed = r.images.filter((i) => i.status === 'failed');
    expect(failed.map((i) => i.target.ref)).toEqual([lost.target.ref]);
    expect(failed[0].error).toMatch(
      /^missing from the results of shard 3\/3 of plan [0-9a-f]{12} \(.*shard-3\/results\.json\)$/,
    );
    expect(failure(run)).toContain(lost.target.ref);
  });

  test("results of two plans mixed: both named, and the stale plan's missing shard fails the gate", async () => {
    const other = await runAction({
      inputs: discoverInputs('2'),
      env: { ...registry.env, ...markedRunnerEnv() },
      dirs: { workspace, toolCache },
    });
    const otherPlan = planOf(other.outputs.matrix);
    expect(otherPlan.id).not.toBe(plan.id);
    const entry = (JSON.parse(other.outputs.matrix) as { include: MatrixEntry[] }).include[0];
    const stale = await runShard(entry, 'other-shard-1');
    expect(stale.exitCode, stale.stdout).toBe(0);
    const run = await runReport({
      ...allShards(),
      'other-1': path.join(workspace, 'other-shard-1', 'results.json'),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/::warning::reports: the results come from 2 different plans/);
    expect(run.stdout).toContain(`${otherPlan.id} (1 of 2 shards)`);
    expect(run.stdout).toContain(`${plan.id} (3 of 3 shards)`);
    expect(failure(run)).toContain(`shard 2/2 of plan ${otherPlan.id} sent no results`);
    expect(run.summary).toContain('2 different plans');
    // Nothing of the complete plan is lost or doubled: six images scanned, one failed entry for the stale shard.
    const r = results(run);
    expect(r.images.filter((i) => i.status === 'scanned')).toHaveLength(6);
    expect(r.images.filter((i) => i.status === 'failed').map((i) => i.target.ref)).toEqual([
      `shard 2/2 of plan ${otherPlan.id}`,
    ]);
  });

  test('damaged plan lines and a misplaced `plan` are refused naming the input, before any download or scan', async () => {
    const log = path.join(tempDir('isg-fanin-refused-'), 'standin.log');
    const damaged = await runShard(
      { shard: 1, count: 1, images: `# image-scan-gate plan ${plan.id} shard 4/3\n${ref('shop/web', '2')}` },
      'refused',
      log,
    );
    expect(damaged.exitCode).toBe(1);
    expect(failure(damaged)).toContain('`images` holds a damaged plan line');
    const misplaced = await runAction({
      inputs: {
        ...markedCredentialInputs(),
        ...trivyInputs(),
        images: ref('shop/web', '2'),
        plan: discover.outputs.matrix,
      },
      env: { ...registry.env, ...markedRunnerEnv(), STANDIN_LOG: log },
      dirs: { workspace, toolCache },
    });
    expect(misplaced.exitCode).toBe(1);
    expect(failure(misplaced)).toContain('`plan` only applies with `mode: report`');
    expect(readStandinLog(log)).toEqual([]);
    expectNoLeak(damaged);
    expectNoLeak(misplaced);
  });

  test('a results file claiming a billion shards is refused naming the file, not counted through', async () => {
    const dir = tempDir('isg-fanin-huge-');
    const forged = path.join(dir, 'results.json');
    const shard1 = JSON.parse(fs.readFileSync(resultsOf(1), 'utf8')) as Results;
    fs.writeFileSync(forged, JSON.stringify({ ...shard1, plan: { ...shard1.plan, shards: 1e9 } }));
    const started = Date.now();
    const run = await runReport({ 'shard-1': forged, 'shard-2': resultsOf(2) });
    expect(Date.now() - started, 'finished, not hung').toBeLessThan(60_000);
    expect(run.exitCode).toBe(1);
    expect(failure(run)).toMatch(
      /reports: .*shard-1\/results\.json is not a valid results file: plan\.shards: /,
    );
  });

  // Last: it moves a tag the other cases planned.
  test('a tag moved between discover and scan: the shard scans the pinned digest and reports it by tag', async () => {
    const moving = ref('shop/moving', '1');
    const planned = pushed.get(moving)!;
    const moved = await registry.push('shop/moving', '1', {
      labels: { 'standin.report': 'critical-heavy' },
      layerContent: 'moving-new',
    });
    expect(moved.digest).not.toBe(planned);
    const entry = matrix.include.find((e) => pinnedLines(e).includes(`${moving}@${planned}`))!;
    const log = path.join(tempDir('isg-fanin-moved-'), 'standin.log');
    const run = await runShard(entry, 'moved', log);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const scans = scansIn(readStandinLog(log)).map((s) => s.argv.at(-1));
    expect(scans).toContain(`${moving}@${planned}`);
    expect(scans.some((s) => s?.includes(moved.digest))).toBe(false);
    const image = results(run).images.find((i) => i.target.repository === 'shop/moving')!;
    expect(image).toMatchObject({ digest: planned, status: 'scanned', target: { ref: moving } });
    const counts = templateCounts('alpine-vulns');
    expect(image.findings.filter((f) => f.severity === 'CRITICAL')).toHaveLength(counts.CRITICAL);
    expect(image.findings.filter((f) => f.severity === 'HIGH')).toHaveLength(counts.HIGH);
    expectNoLeak(run, { standinLog: log });
  });
});
