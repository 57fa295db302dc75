import { expect, test } from 'vitest';
import type { Target } from '../../src/model.js';
import { renderDiscoverSummary } from '../../src/report/discover-summary.js';

// mode: discover scans nothing; its job summary says what was found, skipped and planned.

function target(ref: string, digest?: string, sources: Target['sources'] = ['registry']): Target {
  const [registry, ...rest] = ref.split('/');
  const [repository, tag] = rest.join('/').split(':');
  return { ref, input: ref, registry, repository, tag, origins: [], sources, ...(digest && { digest }) };
}

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

test('found, merged by digest, skipped and shards', () => {
  const md = renderDiscoverSummary({
    images: [
      target('r.example/shop/api:1.0', D1),
      target('r.example/shop/api:stable', D1),
      target('r.example/shop/web:2.0', D2, ['listed', 'file']),
    ],
    skipped: [{ ref: 'r.example/shop/old:0.1', reason: 'over max-images (2)' }],
    shards: { planId: 'abc123', sizes: [2, 1] },
  });
  expect(md).toContain('## Image Scan Gate — discovered images');
  expect(md).toContain(
    '2 images to scan (3 tags; tags sharing a digest are scanned once), 1 image skipped, 2 shards (plan `abc123`).',
  );
  expect(md).toContain('| `r.example/shop/web:2.0` | `sha256:222222222222` | listed, file |');
  expect(md).toContain('### Skipped');
  expect(md).toContain('| `r.example/shop/old:0.1` | over max-images (2) |');
  expect(md).toMatch(/### Shards\n\n\| Shard \| Images \|\n\| --- \| ---: \|\n\| 1 \| 2 \|\n\| 2 \| 1 \|/);
});

test('hostile names stay inert: no table break, no mention, no HTML', () => {
  const md = renderDiscoverSummary({
    images: [target('r.example/a|b@team:<img src=x>')],
    skipped: [{ ref: 'r.example/x:1', reason: 'ping @octo-org/admins <script>|' }],
  });
  // Outside code spans (where GitHub renders text literally and links no mention) nothing is markup.
  const prose = md.replace(/`[^`]*`/g, '');
  expect(prose).not.toMatch(/(?<!\\)<|@[a-z]/);
  expect(prose).toContain('\\<script\\>');
  for (const row of md.split('\n').filter((l) => l.startsWith('| `r.example')))
    expect(row.split(/(?<!\\)\|/).length).toBe(row.startsWith('| `r.example/x') ? 4 : 5);
});

test('nothing found says so, and a huge discovery is capped', () => {
  expect(renderDiscoverSummary({ images: [], skipped: [] })).toContain('0 images to scan.');
  const many = Array.from({ length: 450 }, (_, i) =>
    target(`r.example/repo:${i}`, `sha256:${String(i).padStart(64, '0')}`),
  );
  const md = renderDiscoverSummary({ images: many, skipped: [] });
  expect(md.split('\n').filter((l) => l.startsWith('| `r.example/repo:'))).toHaveLength(200);
  expect(md).toContain('…and 250 more in the `images` output.');
});
