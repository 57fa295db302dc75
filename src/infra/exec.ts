import { spawn } from 'node:child_process';

export interface ProcessRequest {
  command: string;
  args: string[];
  /** Full environment for the child (secrets go here or in 0600 files, never in args). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Written to stdin, then closed. */
  input?: string;
}

export interface ProcessResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export type RunProcess = (req: ProcessRequest) => Promise<ProcessResult>;

/**
 * The one place the action starts processes. We use child_process rather than @actions/exec because a scan
 * needs a hard time limit that kills the whole process, and its stdout/stderr kept apart.
 */
export const runProcess: RunProcess = (req) =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(req.command, req.args, {
      env: req.env ?? process.env,
      cwd: req.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    if (req.timeoutMs && req.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, req.timeoutMs);
    }
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({
        exitCode: code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        durationMs: Date.now() - started,
      });
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading stdin
    child.stdin.end(req.input ?? '');
  });
