import { describe, expect, test } from 'vitest';
import type { Finding, FindingTally, ImageResult, Target } from '../../src/model.js';
import {
  adviseBaseImages,
  candidateTarget,
  needsBaseImageAdvice,
  newerTagsOnTrack,
  recommend,
  type ScannedCandidate,
} from '../../src/targets/base-image-candidates.js';

describe('newerTagsOnTrack', () => {
  const node = [
    '20',
    '20.10',
    '20.11',
    '20.12',
    '20.14',
    '20.9',
    '21.0',
    '20.14.1',
    '20.14-alpine',
    'latest',
  ];
  test.each<[string, string, readonly string[], number, string[]]>([
    ['minor bumps within the major, newest first', '20.11', node, 3, ['20.14', '20.12']],
    ['capped at max, newest kept', '20.9', node, 2, ['20.14', '20.12']],
    ['0 turns it off', '20.9', node, 0, []],
    [
      'semver order, not text order',
      '3.18.4',
      ['3.18.10', '3.18.9', '3.18.5', '3.18.3'],
      3,
      ['3.18.10', '3.18.9', '3.18.5'],
    ],
    [
      'patch bumps only for a full version',
      '3.18.4',
      ['3.18.6', '3.19.0', '4.0.0', '3.18.6.1'],
      5,
      ['3.18.6'],
    ],
    [
      'the variant must match exactly',
      '3.18.4-alpine',
      ['3.18.6-alpine', '3.18.7', '3.18.8-slim', '3.18.9-alpine3.19', '3.18.5-alpine'],
      5,
      ['3.18.6-alpine', '3.18.5-alpine'],
    ],
    [
      'a compound variant',
      '20.11-bookworm-slim',
      ['20.12-bookworm-slim', '20.12-bookworm', '20.12-slim'],
      3,
      ['20.12-bookworm-slim'],
    ],
    ['the v prefix is part of the track', 'v1.2.3', ['v1.2.4', '1.2.5'], 3, ['v1.2.4']],
    ['a bare major already floats: no track', '20', node, 3, []],
    ['not a version: no track', 'latest', node, 3, []],
    ['a pre-release is another variant, never proposed', '1.25.1', ['1.25.2-rc1', '1.25.2'], 3, ['1.25.2']],
    [
      'only strictly newer (same number written differently is not)',
      '1.25.01',
      ['1.25.1', '1.25.2'],
      3,
      ['1.25.2'],
    ],
    ['duplicates listed once', '1.2.3', ['1.2.4', '1.2.4'], 3, ['1.2.4']],
    ['hostile tag text is no version', '1.2.3', ['1.2.4\n::warning::x', '1.2.4 ', '1.2.5'], 3, ['1.2.5']],
  ])('%s', (_, current, tags, max, expected) => {
    expect(newerTagsOnTrack(current, tags, max)).toEqual(expected);
  });
});

describe('recommend', () => {
  const t = (critical: number, high: number, total: number): FindingTally => ({ critical, high, total });
  const c = (tag: string, tally: FindingTally): ScannedCandidate => ({ tag, tally });

  test.each<[string, FindingTally, ScannedCandidate[], string | undefined]>([
    [
      'the most critical+high removed wins',
      t(2, 3, 9),
      [c('a', t(20, 6, 30)), c('b', t(0, 0, 2)), c('d', t(2, 1, 7))],
      'b',
    ],
    ['tie on critical+high: fewer in all', t(2, 3, 9), [c('a', t(1, 1, 8)), c('b', t(0, 2, 4))], 'b'],
    ['full tie: the newest (first listed)', t(2, 3, 9), [c('new', t(1, 1, 4)), c('old', t(1, 1, 4))], 'new'],
    ['none better: no recommendation', t(1, 1, 5), [c('a', t(1, 1, 2)), c('b', t(3, 0, 3))], undefined],
    ['no candidates', t(1, 1, 5), [], undefined],
    ['nothing to remove', t(0, 0, 5), [c('a', t(0, 0, 0))], undefined],
  ])('%s', (_, current, candidates, tag) => {
    expect(recommend(current, candidates)?.tag).toBe(tag);
  });

  test('counts what the move removes (and what it adds back as negative)', () => {
    expect(recommend(t(2, 3, 9), [c('3.18.6', t(0, 4, 12))])).toEqual({
      tag: '3.18.6',
      tally: t(0, 4, 12),
      removed: { critical: 2, high: -1, total: -3 },
    });
  });
});

describe('needsBaseImageAdvice and adviseBaseImages', () => {
  const finding = (id: string, severity: Finding['severity'], fixed?: string): Finding => ({
    id,
    pkg: 'openssl',
    severity,
    class: 'os-pkgs',
    target: 'alpine',
    ...(fixed && { fixed }),
  });
  const target = (tag: string, origins: Target['origins'], input?: string): Target => ({
    ref: `localhost:5000/base/alpine:${tag}`,
    input: input ?? `localhost:5000/base/alpine:${tag}`,
    registry: 'localhost:5000',
    repository: 'base/alpine',
    tag,
    origins,
    sources: ['file'],
  });
  const fromLine = [{ file: 'app/Dockerfile', line: 2 }];
  const image = (t: Target, findings: Finding[], status: ImageResult['status'] = 'scanned'): ImageResult => ({
    target: t,
    status,
    findings,
  });
  const fixable = [finding('CVE-1', 'CRITICAL', '3.1'), finding('CVE-2', 'HIGH'), finding('CVE-3', 'LOW')];

  test.each<[string, ImageResult, boolean]>([
    ['a FROM image with a fixable finding', image(target('3.18.4', fromLine), fixable), true],
    ['no fixable finding', image(target('3.18.4', fromLine), [finding('CVE-2', 'HIGH')]), false],
    [
      'not from a Dockerfile',
      image(target('3.18.4', [{ file: 'k8s/deploy.yaml', line: 3 }]), fixable),
      false,
    ],
    ['listed only', image(target('3.18.4', []), fixable), false],
    [
      'pinned by digest in the file',
      image(target('3.18.4', fromLine, 'base/alpine:3.18.4@sha256:ab'), fixable),
      false,
    ],
    ['failed scan', image(target('3.18.4', fromLine), fixable, 'failed'), false],
  ])('%s: %s', (_, img, expected) => {
    expect(needsBaseImageAdvice(img)).toBe(expected);
  });

  test('advice per image: every candidate kept with its tally, failed ones never chosen', () => {
    const current = image(target('3.18.4', fromLine), fixable);
    const plan = {
      image: current,
      candidates: ['3.18.7', '3.18.6', '3.18.5'].map((t) => candidateTarget(current.target, t)),
    };
    const advice = adviseBaseImages(
      [plan],
      [
        image(target('3.18.7', []), [], 'failed'),
        image(target('3.18.6', []), [finding('CVE-3', 'LOW')]),
        image(target('3.18.5', []), [finding('CVE-2', 'HIGH')]),
      ],
    );
    expect(advice).toEqual([
      {
        ref: 'localhost:5000/base/alpine:3.18.4',
        tag: '3.18.4',
        origins: fromLine,
        tally: { critical: 1, high: 1, total: 3 },
        candidates: [
          { tag: '3.18.7', ref: 'localhost:5000/base/alpine:3.18.7', status: 'failed', error: 'not scanned' },
          {
            tag: '3.18.6',
            ref: 'localhost:5000/base/alpine:3.18.6',
            status: 'scanned',
            tally: { critical: 0, high: 0, total: 1 },
          },
          {
            tag: '3.18.5',
            ref: 'localhost:5000/base/alpine:3.18.5',
            status: 'scanned',
            tally: { critical: 0, high: 1, total: 1 },
          },
        ],
        recommended: {
          tag: '3.18.6',
          ref: 'localhost:5000/base/alpine:3.18.6',
          tally: { critical: 0, high: 0, total: 1 },
          removed: { critical: 1, high: 1, total: 2 },
        },
      },
    ]);
  });
});
