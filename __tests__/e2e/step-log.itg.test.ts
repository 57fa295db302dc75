import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { parseWorkflowCommands, runAction, type ActionRun } from '../../test-support/run-action.js';
import { tempDir } from './fixtures.js';

// Issue 14, "The step log", through the bundle: what a person reading the runner's log sees. A group per stage
// that never nests and always closes, a numbered line per unique digest, one warning per registry that refused
// the pull (with its cause and the fix, not Trivy's daemon fallbacks), the verdict annotation inside GitHub's
// 10-per-level cap however many images fail, and a job summary for mode: discover.

const VULNERABLE_IMAGES = 12;

let open: TestRegistry;
let locked: TestRegistry;
let mirror: ReleaseMirror;

const image = (layerContent: string) => ({
  labels: { 'standin.report': 'alpine-vulns' },
  layerContent,
  created: '2026-10-01T08:00:00Z',
});

beforeAll(async () => {
  [open, locked, mirror] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'htpasswd', users: { puller: 'Right-Pa55word' } }),
    startReleaseMirror(),
  ]);
  for (let i = 0; i < VULNERABLE_IMAGES; i++) {
    await open.push(`shop/app${i}`, '1.0', image(`app${i}`));
  }
  await open.push('shop/app0', 'stable', image('app0')); // the same digest as shop/app0:1.0
  for (const name of ['secret/a', 'secret/b']) {
    await locked.push(name, '1', { labels: { 'standin.report': 'clean' }, layerContent: name });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([open?.close(), locked?.close(), mirror?.close()]);
});

function groupsOf(stdout: string): { events: string[]; balanced: boolean; nested: boolean } {
  const events: string[] = [];
  let depth = 0;
  let nested = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('::group::')) {
      events.push(line.slice('::group::'.length));
      depth++;
      if (depth > 1) nested = true;
    } else if (line.startsWith('::endgroup::')) depth--;
  }
  return { events, balanced: depth === 0, nested };
}

describe('a scan run of 15 tags on two registries', () => {
  let r: ActionRun;
  const openImages = () => [
    ...Array.from({ length: VULNERABLE_IMAGES }, (_, i) => `${open.host}/shop/app${i}:1.0`),
    `${open.host}/shop/app0:stable`,
  ];
  const lockedImages = () => [`${locked.host}/secret/a:1`, `${locked.host}/secret/b:1`];

  beforeAll(async () => {
    r = await runAction({
      inputs: {
        images: [...openImages(), ...lockedImages()].join('\n'),
        'trivy-download-url': mirror.baseUrl,
        'trivy-checksum': mirror.sha256,
        'cache-db': 'false',
        'upload-sarif': 'false',
        'pr-comment': 'never',
        parallel: '3',
      },
      env: { ...open.env },
    });
  }, 240_000);

  test('install, DB, discovery, scanning and publishing each in one group; none nested, all closed', () => {
    const { events, balanced, nested } = groupsOf(r.stdout);
    expect(events).toEqual([
      'Finding the images to scan',
      'Installing Trivy',
      "Preparing Trivy's vulnerability databases",
      'Scanning 15 images',
      'Publishing the results',
    ]);
    expect(balanced).toBe(true);
    expect(nested).toBe(false);
    // The verdict is printed after the last group closed, where a reader sees it without unfolding anything.
    expect(r.stdout.lastIndexOf('::endgroup::')).toBeLessThan(
      r.stdout.lastIndexOf('Image Scan Gate: the policy failed.'),
    );
  });

  test('the counter counts unique digests, says how many tags were merged, and each scan starts and ends', () => {
    expect(r.stdout).toContain(
      'Scanning 14 unique images (1 more tag of the same digests merged, not scanned again), 3 at a time.',
    );
    const starts = r.stdout.split('\n').filter((l) => /^\[\d+\/14\] scanning /.test(l));
    expect(starts).toHaveLength(14);
    expect(starts.map((l) => /^\[(\d+)\//.exec(l)?.[1]).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 14 }, (_, i) => String(i + 1)),
    );
    expect(r.stdout).toMatch(
      new RegExp(
        `^\\[\\d+/14\\] ${open.host}/shop/app3:1\\.0: \\d+ findings \\(critical \\d+, high \\d+, medium \\d+, low \\d+\\) in [\\d.]+m?s$`,
        'm',
      ),
    );
  });

  test('the registry that refused the pull: one warning, its cause first, the fix, both images named', () => {
    const warnings = parseWorkflowCommands(r.stdout).filter(
      (c) => c.command === 'warning' && c.message.startsWith(`${locked.host} refused`),
    );
    expect(warnings).toHaveLength(1);
    const [first, fix, failed] = warnings[0].message.split('\n');
    expect(first).toMatch(
      new RegExp(`^${locked.host.replace('.', '\\.')} refused the pull: GET .*UNAUTHORIZED`),
    );
    expect(fix).toMatch(/^Fix: give credentials for .*registry-username and registry-password/);
    expect(failed).toBe(`Failed for ${locked.host}/secret/a:1 and 1 more image.`);
    expect(warnings[0].message).not.toMatch(/docker daemon|containerd|podman/i);
  });

  test('the verdict is the last error annotation, within the 10 GitHub shows', () => {
    expect(r.outputs.result).toBe('fail');
    const errors = parseWorkflowCommands(r.stdout).filter((c) => c.command === 'error');
    expect(errors.length).toBeLessThanOrEqual(10);
    expect(errors.at(-1)?.message).toMatch(/^Image Scan Gate: the policy failed\./);
    // The image annotations past the budget are still in the log, as plain lines.
    expect(r.stdout).toMatch(/^Error: .* — .*critical/m);
  });

  test('annotation messages name their image, not only their title', () => {
    for (const a of parseWorkflowCommands(r.stdout).filter((c) => c.properties.title?.includes(' — '))) {
      expect(a.message.split('\n')[0]).toMatch(new RegExp(`^(${open.host}|${locked.host})/`));
    }
  });
});

describe('mode: discover', () => {
  let r: ActionRun;
  beforeAll(async () => {
    const workspace = tempDir('isg-steplog-ws-');
    fs.writeFileSync(path.join(workspace, 'Dockerfile'), 'ARG BASE\nFROM $BASE\n');
    r = await runAction({
      inputs: { mode: 'discover', registry: open.host, shards: '2', 'discover-files': 'Dockerfile' },
      env: { ...open.env },
      dirs: { workspace },
    });
  }, 120_000);

  test('writes a short job summary: what was found, skipped and how it is sharded', () => {
    expect(r.exitCode).toBe(0);
    expect(r.summary).toContain('## Image Scan Gate — discovered images');
    expect(r.summary).toContain(
      '12 images to scan (13 tags; tags sharing a digest are scanned once), 1 image skipped, 2 shards',
    );
    expect(r.summary).toContain('### Skipped');
    expect(r.summary).toMatch(/\| 1 \| \d+ \|\n\| 2 \| \d+ \|/);
  });

  test('no discovery line is said twice', () => {
    const lines = r.stdout.split('\n').filter((l) => !l.startsWith('::debug::'));
    const discovered = lines.filter((l) => l.startsWith('Discovered '));
    expect(discovered).toHaveLength(1);
    expect(discovered[0]).toMatch(/^Discovered 12 images to scan in [\d.:]+ \(\d+ registry requests\)$/);
    expect(lines.filter((l) => l.includes('$BASE'))).toHaveLength(2); // the not-resolved line and the plan's skip
    expect(lines.filter((l) => /\(s\)/.test(l))).toEqual([]);
  });
});
