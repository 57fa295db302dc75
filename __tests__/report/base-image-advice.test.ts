import { describe, expect, test } from 'vitest';
import type { BaseImageAdvice } from '../../src/model.js';
import { commentMarker, renderComment } from '../../src/report/comment.js';
import { renderSummary } from '../../src/report/summary.js';
import { makeImage, makeView } from './fixtures/render/build-view.js';

// Base image advice in the PR comment and the job summary: one line per FROM image, tags escaped.

const marker = commentMarker({ category: 'image-scan', workflow: 'w', job: 'j' });
const tally = (critical: number, high: number, total: number) => ({ critical, high, total });

const node: BaseImageAdvice = {
  ref: 'docker.io/library/node:20.11',
  tag: '20.11',
  origins: [{ file: 'app/Dockerfile', line: 3 }],
  tally: tally(4, 9, 30),
  candidates: [
    { tag: '20.16', ref: 'docker.io/library/node:20.16', status: 'failed', error: 'timeout' },
    { tag: '20.14', ref: 'docker.io/library/node:20.14', status: 'scanned', tally: tally(1, 4, 20) },
    { tag: '20.12', ref: 'docker.io/library/node:20.12', status: 'scanned', tally: tally(3, 9, 28) },
  ],
  recommended: {
    tag: '20.14',
    ref: 'docker.io/library/node:20.14',
    tally: tally(1, 4, 20),
    removed: tally(3, 5, 10),
  },
};
const none: BaseImageAdvice = {
  ref: 'reg.test/base/alpine:3.18.4',
  tag: '3.18.4',
  origins: [{ file: 'Dockerfile', line: 1 }],
  tally: tally(0, 1, 2),
  candidates: [
    { tag: '3.18.5', ref: 'reg.test/base/alpine:3.18.5', status: 'scanned', tally: tally(0, 1, 1) },
  ],
};

function view(advice: BaseImageAdvice[] | undefined) {
  const v = makeView({ images: [makeImage('docker.io/library/node:20.11')] });
  return { ...v, results: { ...v.results, ...(advice && { baseImageAdvice: advice }) } };
}

describe('base image advice lines', () => {
  test.each([
    ['comment', renderComment(view([node, none]), { marker }).body],
    ['summary', renderSummary(view([node, none])).markdown],
  ])('the %s has one line per FROM image, with what the move removes', (_, text) => {
    expect(text).toContain(
      '- `node:20.11` in app/Dockerfile:3 → `node:20.14`: −3 critical, −5 high (scanned 2 newer tags, 1 failed)',
    );
    expect(text).toContain(
      '- `reg.test/base/alpine:3.18.4` in Dockerfile:1: no newer tag has fewer critical or high findings (scanned 1 newer tag)',
    );
  });

  test('no advice, no section', () => {
    expect(renderComment(view(undefined), { marker }).body).not.toContain('Base image advice');
    expect(renderSummary(view([])).markdown).not.toContain('Base image advice');
  });

  test('a hostile tag from the registry stays inert', () => {
    const tag = '1.2`\n@org/team <img src=x> ::error::x';
    const hostile: BaseImageAdvice = {
      ...node,
      recommended: { ...node.recommended!, tag, ref: `docker.io/library/node:${tag}` },
    };
    const body = renderComment(view([hostile]), { marker }).body;
    const line = body.split('\n').find((l) => l.includes('`node:20.11`'))!;
    // One line, the whole tag in a code span (where `<img`, `@org/team` and `::error::` are literal text).
    expect(line).toContain('→ ``node:1.2` @org/team <img src=x> ::error::x``: −3 critical');
    expect(body).not.toMatch(/^::error::/m);
  });
});
