import { expect, test } from 'vitest';
import { renderSummary } from '../../src/report/summary.js';
import { makeImage, makeView } from './fixtures/render/build-view.js';
import { parseTables } from './fixtures/render/markdown-tables.js';

test('skipped references show where the repository has them', () => {
  const view = makeView({ images: [makeImage('ghcr.io/acme/app:1')] });
  view.results.skipped = [
    { ref: 'acme/api:${TAG}', reason: '$TAG has no value', origins: [{ file: 'compose.yaml', line: 3 }] },
    {
      ref: 'golang:${GO}',
      reason: 'ARG GO has no default value',
      origins: [
        { file: 'Dockerfile', line: 2 },
        { file: 'api/Dockerfile', line: 1 },
      ],
    },
    { ref: 'ghcr.io/acme/old:1', reason: 'over max-images (500)' },
  ];
  const skipped = parseTables(renderSummary(view).markdown).find(
    (t) => t.header.join() === 'Image,Reason,Where',
  )!;
  expect(skipped.rows).toEqual([
    ['acme/api:${TAG}', '$TAG has no value', 'compose.yaml:3'],
    ['golang:${GO}', 'ARG GO has no default value', 'Dockerfile:2 (+ 1 more)'],
    ['ghcr.io/acme/old:1', 'over max-images (500)', ''],
  ]);
});

test('a reference rewritten by a Kustomize override: the manifest line and the override, escaped', () => {
  const note = 'Kustomize images override of app (newTag: 2|0) at overlays/prod/kustomization.yaml:9';
  const view = makeView({
    images: [
      makeImage('ghcr.io/acme/app:2', {
        target: { origins: [{ file: 'base/deploy.yaml', line: 7, note }], sources: ['file'] },
      }),
      makeImage('ghcr.io/acme/plain:1', { target: { origins: [{ file: 'x.yaml', line: 1 }] } }),
    ],
  });
  const { markdown } = renderSummary(view);
  expect(markdown).toContain('### Rewritten references (1)');
  const table = parseTables(markdown).find(
    (t) => t.header.join() === 'Image scanned,Written at,Rewritten by',
  )!;
  // the pipe stays inside its cell
  expect(table.rows).toEqual([['ghcr.io/acme/app:2', 'base/deploy.yaml:7', note.replace('|', '\\|')]]);
});
