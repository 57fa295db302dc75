import { afterEach, describe, expect, test } from 'vitest';
import { runProcess } from '../../src/infra/exec.js';

// The one process chokepoint, with real processes (sh, node): the time limit reaches the whole process group, a
// grandchild holding the pipes cannot keep a step waiting, output is bounded, and the environment is allow-listed.

const node = process.execPath;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A killed process is reaped by init shortly after its parent died; wait for that, with a generous bound. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('runProcess: process groups', () => {
  test('the time limit kills a wrapper and the child it started (which holds stdout open)', async () => {
    const started = Date.now();
    const r = await runProcess({
      command: 'sh',
      args: ['-c', 'sleep 60 & echo $!; wait'],
      timeoutMs: 500,
    });
    expect(r.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(20_000); // finished, not hung for the sleep's 60 s
    const grandchild = Number(r.stdout.trim());
    expect(grandchild).toBeGreaterThan(0);
    expect(await gone(grandchild)).toBe(true);
  });

  test('a child that exits while its own child keeps the pipes open does not hold the caller', async () => {
    const started = Date.now();
    const r = await runProcess({
      command: 'sh',
      args: ['-c', 'sleep 60 & echo $!; exit 3'],
      timeoutMs: 60_000,
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(3);
    const grandchild = Number(r.stdout.trim());
    expect(await gone(grandchild)).toBe(true); // no stray process survives
  });

  test('a time limit beyond what Node timers can wait is refused, not turned into an instant kill', async () => {
    await expect(runProcess({ command: 'true', args: [], timeoutMs: 2 ** 31 })).rejects.toThrow(
      /timer limit/,
    );
  });
});

describe('runProcess: bounded capture', () => {
  test('a 64 MB stderr flood keeps only its last KiB (where the fatal error is); stdout keeps its head', async () => {
    const script = [
      "const line = 'x'.repeat(1023) + '\\n';",
      'const chunk = line.repeat(1024);',
      'for (let i = 0; i < 64; i++) process.stderr.write(chunk);',
      "process.stderr.write('FATAL the real reason\\n');",
      "process.stdout.write('HEAD ' + 'y'.repeat(4 * 1024 * 1024));",
    ].join('\n');
    const r = await runProcess({ command: node, args: ['-e', script], timeoutMs: 60_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stderr.length).toBeLessThanOrEqual(64 * 1024);
    expect(r.stderr).toMatch(/^\(truncated\)…/);
    expect(r.stderr.trimEnd().endsWith('FATAL the real reason')).toBe(true);
    expect(r.stdout.length).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(r.stdout.startsWith('HEAD yyy')).toBe(true);
    expect(r.stdout.endsWith('…(truncated)')).toBe(true);
  }, 60_000);

  test('small output is kept whole', async () => {
    const r = await runProcess({
      command: node,
      args: ['-e', "process.stdout.write('out'); process.stderr.write('err')"],
    });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'out', stderr: 'err', timedOut: false });
  });
});

describe('runProcess: environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  test('a child gets the allow-listed variables and what the caller adds: no inputs, tokens or TRIVY_*', async () => {
    Object.assign(process.env, {
      'INPUT_REGISTRY-PASSWORD': 'input-secret',
      ACTIONS_RUNTIME_TOKEN: 'runtime-token',
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
      GITHUB_TOKEN: 'gh-token',
      TRIVY_SEVERITY: 'CRITICAL',
      HTTPS_PROXY: 'http://proxy.example:3128',
    });
    const r = await runProcess({
      command: node,
      args: ['-e', 'process.stdout.write(JSON.stringify(process.env))'],
      env: { DOCKER_CONFIG: '/tmp/private-docker' },
    });
    const env = JSON.parse(r.stdout) as Record<string, string>;
    expect(env.PATH).toBe(process.env.PATH);
    expect(env.HTTPS_PROXY).toBe('http://proxy.example:3128');
    expect(env.DOCKER_CONFIG).toBe('/tmp/private-docker');
    for (const name of [
      'INPUT_REGISTRY-PASSWORD',
      'ACTIONS_RUNTIME_TOKEN',
      'AWS_SECRET_ACCESS_KEY',
      'GITHUB_TOKEN',
      'TRIVY_SEVERITY',
    ]) {
      expect(env[name], name).toBeUndefined();
    }
  });
});
