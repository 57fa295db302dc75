import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { projectRoot } from '../../test-support/paths.js';

// dist/ is committed (the runner executes it as-is); it must be what the source builds to today.
test('dist/ is rebuilt from the current source', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-dist-'));
  execFileSync(
    process.execPath,
    [
      path.join(projectRoot, 'node_modules/@vercel/ncc/dist/ncc/cli.js'),
      'build',
      'src/index.ts',
      '-o',
      out,
      '--source-map',
      '--license',
      'licenses.txt',
      '--minify',
      '--quiet',
    ],
    { cwd: projectRoot, stdio: 'pipe' },
  );
  for (const file of ['index.js', 'licenses.txt']) {
    const built = fs.readFileSync(path.join(out, file), 'utf8');
    const committed = fs.readFileSync(path.join(projectRoot, 'dist', file), 'utf8');
    expect(committed === built, `dist/${file} is stale: run \`npm run build\` and commit dist/`).toBe(true);
  }
}, 300_000);
