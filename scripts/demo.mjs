#!/usr/bin/env node
// `npm run demo`: runs the action's main job from the committed bundle (dist/index.js) the way the runner does,
// in `mode: report` over the example Trivy reports in examples/ — no registry, no network. It writes the job
// summary, the results file, SARIF and a verdict into image-scan-results/ and prints them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-demo-'));
const files = Object.fromEntries(
  ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_ENV', 'GITHUB_PATH'].map((k) => {
    const f = path.join(scratch, k.toLowerCase());
    fs.writeFileSync(f, '');
    return [k, f];
  }),
);
const inputs = {
  mode: 'report',
  reports: 'examples/reports/*.json',
  'discover-files': 'examples/Dockerfile',
  policy: 'examples/policy.yml',
  'output-dir': 'image-scan-results',
  'upload-sarif': 'false',
  'pr-comment': 'never',
};
const env = {
  ...process.env,
  ...files,
  GITHUB_ACTIONS: 'true',
  GITHUB_WORKSPACE: root,
  GITHUB_REPOSITORY: 'acme/demo',
  GITHUB_EVENT_NAME: 'workflow_dispatch',
  GITHUB_SHA: '0'.repeat(40),
  GITHUB_REF: 'refs/heads/main',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_API_URL: 'http://127.0.0.1:9',
  GITHUB_RUN_ID: '1',
  RUNNER_TEMP: scratch,
  ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
};
const res = spawnSync(process.execPath, [path.join(root, 'dist', 'index.js')], {
  env,
  cwd: root,
  encoding: 'utf8',
});
process.stdout.write(res.stdout);
process.stderr.write(res.stderr);

const outputs = {};
const text = fs.readFileSync(files.GITHUB_OUTPUT, 'utf8').split('\n');
for (let i = 0; i < text.length; i++) {
  const m = /^([^<]+)<<(.+)$/.exec(text[i]);
  if (!m) continue;
  const value = [];
  for (i++; i < text.length && text[i] !== m[2]; i++) value.push(text[i]);
  outputs[m[1]] = value.join('\n');
}
console.log('\n================ job summary (GITHUB_STEP_SUMMARY) ================\n');
console.log(fs.readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'));
console.log('================ outputs ================');
for (const [k, v] of Object.entries(outputs)) if (k !== 'images') console.log(`${k}: ${v}`);
if (!outputs.result) {
  console.error('\nThe demo did not produce a verdict: the action failed before the gate (see above).');
  process.exit(1);
}
console.log(`\nVerdict: ${outputs.result}. The step would exit ${res.status} (gate: enforce).`);
console.log(
  `Files written under ${path.relative(process.cwd(), path.join(root, 'image-scan-results')) || '.'}/`,
);
