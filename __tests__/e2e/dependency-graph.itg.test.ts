import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { errorReply, startGitHubApi } from '../../test-support/github-api.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, parseWorkflowCommands } from '../../test-support/run-action.js';
import { tempDir } from './fixtures.js';
import { expectNoLeak, markedCredentialInputs, markedRunnerEnv } from './hardening-harness.js';
import { openVexDocument, ociPurl } from '../../test-support/vex-documents.js';

// `dependency-graph: true`, run as the runner runs it against a local GitHub API that checks every request against
// GitHub's OpenAPI description: one snapshot per image, keyed and correlated by image, packages as purls; a 403
// (no `contents: write`) is said once and fails nothing.

let registry: TestRegistry;
let mirror: ReleaseMirror;
const refs: Record<string, string> = {};

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  for (const [repo, tag, report] of [
    ['shop/web', '2.0', 'node-app'],
    ['shop/api', '1.0', 'alpine-vulns'],
  ]) {
    await registry.push(repo, tag, {
      labels: { 'standin.report': report },
      layerContent: repo,
      created: '2026-10-01T08:00:00Z',
    });
    refs[repo] = `${registry.host}/${repo}:${tag}`;
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

function templatePurls(name: string): string[] {
  const raw = JSON.parse(
    fs.readFileSync(
      path.join(import.meta.dirname, `../../test-support/trivy-standin/reports/${name}.json`),
      'utf8',
    ),
  ) as { Results: { Packages?: { Identifier?: { PURL?: string } }[] }[] };
  return raw.Results.flatMap((r) => (r.Packages ?? []).map((p) => p.Identifier?.PURL ?? '')).sort();
}

async function scan(github: Awaited<ReturnType<typeof startGitHubApi>>) {
  return runAction({
    inputs: {
      images: `${refs['shop/web']}\n${refs['shop/api']}`,
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      'fail-on': 'none',
      'upload-sarif': 'false',
      'dependency-graph': 'true',
      'github-token': 'ghs_dependency_graph_token',
    },
    env: {
      ...registry.env,
      GITHUB_API_URL: github.url,
      GITHUB_EVENT_NAME: 'push',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_WORKFLOW: 'images',
      GITHUB_JOB: 'scan',
    },
    dirs: { workspace: tempDir('isg-depgraph-ws-') },
  });
}

test('one snapshot per image, valid against the OpenAPI description, packages as purls', async () => {
  const github = await startGitHubApi();
  try {
    const run = await scan(github);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(github.violations).toEqual([]);
    expect(github.state.snapshots).toHaveLength(2);
    const byImage = new Map(github.state.snapshots.map((s) => [Object.keys(s.body.manifests)[0], s.body]));
    for (const [repo, template] of [
      ['shop/web', 'node-app'],
      ['shop/api', 'alpine-vulns'],
    ]) {
      const body = byImage.get(refs[repo])!;
      expect(body, repo).toBeDefined();
      expect(body.detector.name).toBe('image-scan-gate');
      expect(body.job.correlator).toBe(`images/scan/${refs[repo]}`);
      expect(body.ref).toBe('refs/heads/main');
      const manifest = body.manifests[refs[repo]];
      expect(manifest.name).toBe(refs[repo]);
      expect(manifest.metadata.image).toMatch(/^pkg:oci\//);
      const purls = Object.values(manifest.resolved as Record<string, { package_url: string }>)
        .map((p) => p.package_url)
        .sort();
      expect(purls).toEqual(templatePurls(template));
    }
    // Both correlators differ: neither image's snapshot replaces the other's.
    expect(new Set(github.state.snapshots.map((s) => s.body.job.correlator)).size).toBe(2);
  } finally {
    await github.close();
  }
}, 240_000);

test('without contents: write (403) it says so once and the step still passes', async () => {
  const github = await startGitHubApi({
    handlers: {
      'dependency-graph/create-repository-snapshot': () =>
        errorReply(403, 'Resource not accessible by integration'),
    },
  });
  try {
    const run = await scan(github);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.result).toBe('pass');
    const warnings = parseWorkflowCommands(run.stdout).filter(
      (c) => c.command === 'warning' && c.message.includes('dependency-graph'),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('contents: write');
    // Asked once: the second image is not tried after the refusal.
    expect(github.requests.filter((r) => r.path.endsWith('/dependency-graph/snapshots'))).toHaveLength(1);
    expect(github.violations).toEqual([]);
  } finally {
    await github.close();
  }
}, 240_000);

test('hardening: with marked credentials, no secret reaches a snapshot, an SBOM, a VEX summary or a child', async () => {
  const github = await startGitHubApi();
  const workspace = tempDir('isg-depgraph-hard-ws-');
  fs.mkdirSync(path.join(workspace, '.vex'));
  fs.writeFileSync(
    path.join(workspace, '.vex', 'web.json'),
    JSON.stringify(
      openVexDocument([
        {
          id: 'CVE-2023-44487',
          image: ociPurl(`${registry.host}/shop/web`),
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
        },
      ]),
    ),
  );
  const standinLog = path.join(tempDir('isg-depgraph-log-'), 'standin.log');
  try {
    const run = await runAction({
      inputs: {
        images: refs['shop/web'],
        'trivy-download-url': mirror.baseUrl,
        'trivy-checksum': mirror.sha256,
        'fail-on': 'none',
        'upload-sarif': 'false',
        'dependency-graph': 'true',
        sbom: 'cyclonedx',
        vex: '.vex/*.json',
        ...markedCredentialInputs(),
      },
      env: {
        ...registry.env,
        ...markedRunnerEnv(),
        GITHUB_API_URL: github.url,
        GITHUB_EVENT_NAME: 'push',
        GITHUB_REF: 'refs/heads/main',
        STANDIN_LOG: standinLog,
      },
      dirs: { workspace },
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(github.state.snapshots).toHaveLength(1);
    expect(JSON.parse(run.outputs['sbom-files'])).toHaveLength(1);
    expectNoLeak(run, { standinLog, api: github });
  } finally {
    await github.close();
  }
}, 240_000);
