import { spawn } from 'node:child_process';
import { childEnvironment } from './child-env.js';

export interface ProcessRequest {
  command: string;
  args: string[];
  /**
   * Variables added to the child's allow-listed environment (childEnvironment): secrets go here or in 0600 files,
   * never in args. The action's own environment never passes through whole.
   */
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  timeoutMs?: number;
  /** Written to stdin, then closed. */
  input?: string;
}

export interface ProcessResult {
  exitCode: number | null;
  /** The first MAX_STDOUT_BYTES of stdout. */
  stdout: string;
  /** The last MAX_STDERR_BYTES of stderr (a fatal error is at the end). */
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export type RunProcess = (req: ProcessRequest) => Promise<ProcessResult>;

/** Bounds on what is kept of a child's output: a flood costs memory once, never the run. */
const MAX_STDOUT_BYTES = 1024 * 1024;
const MAX_STDERR_BYTES = 16 * 1024;
/** Node's timers cannot wait longer (2^31 − 1 ms, ≈ 24.8 days); a longer wait would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** After the child exits, how long its pipes may stay open (held by a grandchild) before they are closed for it. */
const PIPE_GRACE_MS = 2_000;

const useProcessGroups = process.platform !== 'win32';
/** Process groups of children still running: killed if the action itself is stopped. */
const liveGroups = new Set<number>();

/**
 * The one place the action starts processes. We use child_process rather than @actions/exec because a scan needs a
 * hard time limit that kills the whole process group (a wrapper script's children included), its stdout/stderr kept
 * apart and bounded, and an environment built from an allow-list.
 */
export const runProcess: RunProcess = (req) =>
  new Promise((resolve, reject) => {
    if (req.timeoutMs !== undefined && req.timeoutMs > MAX_TIMER_MS) {
      reject(
        new RangeError(`time limit ${req.timeoutMs} ms is above Node's timer limit (${MAX_TIMER_MS} ms)`),
      );
      return;
    }
    const started = Date.now();
    // Its own process group, so the time limit (and the end of the step) reaches every process it started.
    const child = spawn(req.command, req.args, {
      env: childEnvironment(process.env, req.env),
      cwd: req.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      detached: useProcessGroups,
    });
    const stdout = new HeadBuffer(MAX_STDOUT_BYTES);
    const stderr = new TailBuffer(MAX_STDERR_BYTES);
    let timedOut = false;
    let exitCode: number | null = null;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    const group = useProcessGroups ? child.pid : undefined;
    if (group !== undefined) {
      liveGroups.add(group);
      ensureExitHook();
    }
    const killAll = () => {
      if (group !== undefined) killGroup(group);
      else child.kill('SIGKILL');
    };
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      if (group !== undefined) liveGroups.delete(group);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({
        exitCode,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        durationMs: Date.now() - started,
      });
    };
    if (req.timeoutMs && req.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        killAll();
      }, req.timeoutMs);
    }
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    child.on('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      if (group !== undefined) liveGroups.delete(group);
      reject(e);
    });
    child.on('exit', (code) => {
      exitCode = code;
      // The child is gone; its group may not be. Stray processes are killed now, so the pipes close; one that left
      // the group (setsid) and still holds them is not waited for beyond the grace period.
      if (group !== undefined) killGroup(group);
      grace = setTimeout(finish, PIPE_GRACE_MS);
    });
    child.on('close', (code) => {
      if (exitCode === null) exitCode = code;
      finish();
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading stdin
    child.stdin.end(req.input ?? '');
  });

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the whole group has already exited
  }
}

let exitHookInstalled = false;

/** A step that is cancelled or fails hard still leaves no process of ours running. */
function ensureExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killLive = () => {
    for (const g of liveGroups) killGroup(g);
    liveGroups.clear();
  };
  process.on('exit', killLive);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killLive();
      process.kill(process.pid, signal); // the default action, now that the handler is gone
    });
  }
}

/** Keeps the first `max` bytes. */
class HeadBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    const room = this.max - this.size;
    if (room <= 0) {
      this.dropped = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept !== chunk) this.dropped = true;
    this.chunks.push(Buffer.from(kept));
    this.size += kept.length;
  }
  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped ? `${text}\n…(truncated)` : text;
  }
}

/** Keeps the last `max` bytes. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    while (this.size - this.chunks[0].length >= this.max) {
      this.size -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }
  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.max) {
      buf = buf.subarray(buf.length - this.max);
      this.dropped = true;
    }
    // Do not start in the middle of a UTF-8 character.
    let start = 0;
    while (this.dropped && start < buf.length && start < 4 && (buf[start] & 0xc0) === 0x80) start++;
    const text = buf.subarray(start).toString('utf8');
    return this.dropped ? `(truncated)…${text}` : text;
  }
}
