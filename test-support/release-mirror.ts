import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from './paths.js';

// A local stand-in for GitHub releases (TESTING.md §1): the Trivy stand-in packed into a real
// trivy_<v>_Linux-64bit.tar.gz with a real trivy_<v>_checksums.txt, served at /v<v>/<asset>, plus the one GitHub
// API call the installer makes for `latest`. The real installer downloads, verifies, extracts and tool-caches it.

const run = promisify(execFile);
const standinDir = path.join(projectRoot, 'test-support', 'trivy-standin');

export interface ReleaseMirror {
  /** Stands as `trivy-download-url`. */
  baseUrl: string;
  /** Stands as GITHUB_API_URL. */
  apiUrl: string;
  assetName: string;
  /** SHA-256 of the genuine archive (what the checksums file says). */
  sha256: string;
  /** Every request path, in order ("second run downloads nothing"). */
  requests: string[];
  /** Authorization header of each API request (undefined when none was sent). */
  apiAuthorizations: (string | undefined)[];
  /** Authorization header of each release-file request (a `trivy-download-url` with user:password@). */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

export interface ReleaseMirrorOptions {
  version?: string;
  /** Serve an archive whose bytes differ from the checksums file (a valid archive, altered). */
  tamper?: boolean;
  /** What `releases/latest` answers (default: version). */
  latest?: string;
}

/** The stand-in as one file: templates embedded, so the archive holds only what Trivy's does. */
async function packedStandin(): Promise<string> {
  const source = await readFile(path.join(standinDir, 'trivy.mjs'), 'utf8');
  const reports: Record<string, unknown> = {};
  for (const f of await readdir(path.join(standinDir, 'reports'))) {
    if (f.endsWith('.json'))
      reports[f.slice(0, -5)] = JSON.parse(await readFile(path.join(standinDir, 'reports', f), 'utf8'));
  }
  const marker = 'const EMBEDDED_REPORTS = null;';
  if (!source.includes(marker)) throw new Error('trivy.mjs lost its EMBEDDED_REPORTS marker');
  return source.replace(marker, `const EMBEDDED_REPORTS = ${JSON.stringify(reports)};`);
}

async function packArchive(dir: string, asset: string, trivy: string): Promise<Buffer> {
  const stage = await mkdtemp(path.join(dir, 'stage-'));
  await writeFile(path.join(stage, 'trivy'), trivy);
  await chmod(path.join(stage, 'trivy'), 0o755);
  await writeFile(path.join(stage, 'LICENSE'), 'Apache License 2.0 (Trivy stand-in for tests)\n');
  await writeFile(
    path.join(stage, 'README.md'),
    '# Trivy stand-in\n\nBuilt by test-support/release-mirror.ts.\n',
  );
  await mkdir(path.join(stage, 'contrib'));
  await writeFile(
    path.join(stage, 'contrib', 'html.tpl'),
    '<html>{{ range . }}{{ .Target }}{{ end }}</html>\n',
  );
  const file = path.join(dir, `${path.basename(stage)}-${asset}`);
  await run('tar', ['-czf', file, '-C', stage, 'trivy', 'LICENSE', 'README.md', 'contrib']);
  return readFile(file);
}

export async function startReleaseMirror(options: ReleaseMirrorOptions = {}): Promise<ReleaseMirror> {
  const version = options.version ?? '0.74.0';
  const assetName = `trivy_${version}_Linux-64bit.tar.gz`;
  const checksumsName = `trivy_${version}_checksums.txt`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'release-mirror-'));
  const standin = await packedStandin();
  const genuine = await packArchive(dir, assetName, standin);
  const sha256 = createHash('sha256').update(genuine).digest('hex');
  const served = options.tamper
    ? await packArchive(
        dir,
        assetName,
        standin.replace('// A stand-in for Trivy', '// A TAMPERED stand-in for Trivy'),
      )
    : genuine;
  const checksums = `${'0'.repeat(64)}  trivy_${version}_windows-64bit.zip\n${sha256}  ${assetName}\n`;

  const requests: string[] = [];
  const apiAuthorizations: (string | undefined)[] = [];
  const authorizations: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://mirror');
    requests.push(url.pathname);
    if (url.pathname === '/api/repos/aquasecurity/trivy/releases/latest') {
      apiAuthorizations.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ tag_name: `v${options.latest ?? version}`, name: `v${options.latest ?? version}` }),
      );
      return;
    }
    authorizations.push(req.headers.authorization);
    const files: Record<string, Buffer | string> = {
      [`/releases/v${version}/${assetName}`]: served,
      [`/releases/v${version}/${checksumsName}`]: checksums,
    };
    const body = files[url.pathname];
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/releases`,
    apiUrl: `${origin}/api`,
    assetName,
    sha256,
    requests,
    apiAuthorizations,
    authorizations,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
