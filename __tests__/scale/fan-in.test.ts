import { describe, expect, test } from 'vitest';
import { mergeResults } from '../../src/findings/merge-results.js';
import { RESULTS_SCHEMA, type ImageResult, type ResultsFile } from '../../src/model.js';
import { effectivePolicy } from '../../src/policy/effective-policy.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { parsePolicyFile } from '../../src/policy/policy-file.js';
import { checkFanIn, type ReadResults } from '../../src/scale/fan-in.js';
import { makePlan, type Plan } from '../../src/scale/plan.js';

const digest = (n: number) => 'sha256:' + n.toString(16).padStart(64, '0');
const host = 'registry.test:5000';

/** Three shards: api (two tags of one digest), web, and tools + a ref whose digest discovery did not resolve. */
const PLAN: Plan = makePlan([
  { shard: 1, images: [`${host}/api:1.0@${digest(1)}`, `${host}/api:stable@${digest(1)}`] },
  { shard: 2, images: [`${host}/web:2@${digest(2)}`] },
  { shard: 3, images: [`${host}/tools:3@${digest(3)}`, `${host}/legacy:1`] },
]);

/** What a shard job reports for a planned line: named by tag, with the digest it scanned. */
function scanned(line: string, status: ImageResult['status'] = 'scanned'): ImageResult {
  const [name, d] = line.split('@');
  const [repository, tag] = name.slice(host.length + 1).split(':');
  return {
    target: {
      ref: name,
      input: line,
      registry: host,
      repository,
      tag,
      ...(d && { digest: d }),
      origins: [],
      sources: ['listed'],
    },
    ...(d && { digest: d }),
    status,
    findings: [],
  };
}

/** A shard job's results file, as it records its plan and the images it was given. */
function shardFile(plan: Plan, shard: number, images = plan.shards[shard - 1].images): ReadResults {
  const given = plan.shards[shard - 1].images;
  return {
    path: `shards/shard-${shard}/results.json`,
    results: {
      schema: RESULTS_SCHEMA,
      tool: { name: 'image-scan-gate', version: 'test' },
      createdAt: '2026-01-01T00:00:00Z',
      images: images.map((l) => scanned(l)),
      skipped: [],
      plan: { id: plan.id, shard, shards: plan.shards.length, images: given },
    },
  };
}

function plainFile(path: string, images: ImageResult[]): ReadResults {
  const results: ResultsFile = {
    schema: RESULTS_SCHEMA,
    tool: { name: 'image-scan-gate', version: 'test' },
    createdAt: '2026-01-01T00:00:00Z',
    images,
    skipped: [],
  };
  return { path, results };
}

describe('checkFanIn', () => {
  test('every shard and every planned image received: nothing missing; images beyond the plan are just kept', () => {
    const extra = scanned(`${host}/from-dockerfile:1@${digest(9)}`);
    const files = [shardFile(PLAN, 1), shardFile(PLAN, 2), shardFile(PLAN, 3)];
    files[1].results.images.push(extra);
    expect(checkFanIn(files)).toEqual({ missing: [], problems: [] });
    expect(checkFanIn(files, PLAN)).toEqual({ missing: [], problems: [] });
  });

  test('results without plan records (older shards, raw reports) and no `plan` input: nothing is expected', () => {
    const files = [plainFile('a.json', [scanned(`${host}/web:2@${digest(2)}`)])];
    expect(checkFanIn(files)).toEqual({ missing: [], problems: [] });
  });

  test('a shard that sent nothing, without `plan`: one failed entry naming the shard and how to name its images', () => {
    const { missing, problems } = checkFanIn([shardFile(PLAN, 1), shardFile(PLAN, 3)]);
    const name = `shard 2/3 of plan ${PLAN.id}`;
    expect(missing).toEqual([
      expect.objectContaining({ target: expect.objectContaining({ ref: name }), status: 'failed' }),
    ]);
    expect(missing[0].error).toContain(`${name} sent no results`);
    expect(missing[0].error).toContain('`plan` input');
    expect(problems).toEqual([expect.stringContaining(`${name} sent no results`)]);
  });

  test('a shard that sent nothing, with `plan`: each of its images is a failed scan, named by tag, digest kept', () => {
    const { missing, problems } = checkFanIn([shardFile(PLAN, 2), shardFile(PLAN, 3)], PLAN);
    expect(missing.map((m) => [m.target.ref, m.digest, m.status])).toEqual([
      [`${host}/api:1.0`, digest(1), 'failed'],
      [`${host}/api:stable`, digest(1), 'failed'],
    ]);
    for (const m of missing)
      expect(m.error).toMatch(new RegExp(`^shard 1/3 of plan ${PLAN.id} sent no results`));
    expect(problems).toEqual([
      `shard 1/3 of plan ${PLAN.id} sent no results: ${host}/api:1.0@${digest(1)}, ${host}/api:stable@${digest(1)}; ` +
        'reported as failed scans.',
    ]);
    // Merged, the two tags are one image (as the shard would have reported it), and the gate fails on it.
    const merged = mergeResults([
      ...[shardFile(PLAN, 2), shardFile(PLAN, 3)].map((f) => f.results),
      { ...shardFile(PLAN, 2).results, plan: undefined, images: missing },
    ]);
    const api = merged.images.find((i) => i.digest === digest(1))!;
    expect(api.target.tags).toEqual(['stable']);
    const verdict = evaluatePolicy(
      merged.images,
      effectivePolicy(undefined, { max: {}, gate: 'enforce' }),
      [],
      new Date(),
    );
    expect(verdict.result).toBe('fail');
    expect(verdict.violations.map((v) => [v.rule, v.image])).toEqual([['scan-error', `${host}/api:1.0`]]);
    expect(verdict.violations[0].message).toContain('shard 1/3');
    // scan-errors: warn in the policy file: the same gap warns instead.
    const warn = effectivePolicy(parsePolicyFile('scan-errors: warn\n', 'p.yml'), {
      max: {},
      gate: 'enforce',
    });
    const warned = evaluatePolicy(merged.images, warn, [], new Date());
    expect(warned.result).toBe('warn');
    expect(warned.warnings.map((w) => w.image)).toEqual([`${host}/api:1.0`]);
  });

  test('a results file missing one planned image: that image is named, with the file', () => {
    const short = shardFile(PLAN, 3, [`${host}/tools:3@${digest(3)}`]);
    const { missing, problems } = checkFanIn([shardFile(PLAN, 1), shardFile(PLAN, 2), short]);
    expect(missing.map((m) => m.target.ref)).toEqual([`${host}/legacy:1`]);
    expect(missing[0].error).toBe(
      `missing from the results of shard 3/3 of plan ${PLAN.id} (shards/shard-3/results.json)`,
    );
    expect(problems).toEqual([
      `shard 3/3 of plan ${PLAN.id}: 1 planned image missing from its results: ${host}/legacy:1; ` +
        'reported as failed scans.',
    ]);
  });

  test('a planned image counts when any file holds it, scanned or failed, by digest or by tag', () => {
    // Shard 2 crashed, but a re-run wrote its image to a file without a plan record; legacy:1 failed in shard 3.
    const rerun = plainFile('rerun.json', [scanned(`${host}/web:2@${digest(2)}`)]);
    const three = shardFile(PLAN, 3);
    three.results.images[1] = scanned(`${host}/legacy:1`, 'failed');
    expect(checkFanIn([shardFile(PLAN, 1), rerun, three], PLAN)).toEqual({ missing: [], problems: [] });
  });

  test('results of two plans mixed: said plainly, and each plan checked for its own missing shards', () => {
    const stale = makePlan([
      { shard: 1, images: [`${host}/web:1@${digest(7)}`] },
      { shard: 2, images: [`${host}/web:0@${digest(8)}`] },
    ]);
    const files = [shardFile(PLAN, 1), shardFile(PLAN, 2), shardFile(PLAN, 3), shardFile(stale, 2)];
    const { missing, problems } = checkFanIn(files);
    const [first, second] = [PLAN.id, stale.id].sort();
    expect(problems[0]).toMatch(
      new RegExp(`^reports: the results come from 2 different plans: ${first} .*, ${second} `),
    );
    expect(problems[0]).toContain(`${stale.id} (1 of 2 shards)`);
    expect(problems[0]).toContain(`${PLAN.id} (3 of 3 shards)`);
    expect(missing.map((m) => m.target.ref)).toEqual([`shard 1/2 of plan ${stale.id}`]);
    // With `plan`, the message says which plan was meant; the other is still checked on its own records.
    const withPlan = checkFanIn(files, PLAN);
    expect(withPlan.problems[0]).toContain(`${PLAN.id} (3 of 3 shards, the plan given in \`plan\`)`);
    expect(withPlan.missing.map((m) => m.target.ref)).toEqual([`shard 1/2 of plan ${stale.id}`]);
  });

  test('`plan` given but no file of that plan arrived: every planned image is missing', () => {
    const { missing } = checkFanIn([plainFile('other.json', [])], PLAN);
    expect(new Set(missing.map((m) => m.error?.slice(0, 12)))).toEqual(
      new Set(['shard 1/3 of', 'shard 2/3 of', 'shard 3/3 of']),
    );
    expect(missing).toHaveLength(5);
  });

  test('the same files in any order give the same check', () => {
    const files = [shardFile(PLAN, 3), shardFile(PLAN, 1)];
    expect(checkFanIn([...files].reverse(), PLAN)).toEqual(checkFanIn(files, PLAN));
  });
});
