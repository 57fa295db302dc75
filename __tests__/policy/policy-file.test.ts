import { mkdtemp, mkdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { loadPolicyFile, parsePolicyFile } from '../../src/policy/policy-file.js';

function refusal(text: string, file = 'policy.yml'): ConfigurationError {
  try {
    parsePolicyFile(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return e as ConfigurationError;
  }
  throw new Error(`expected the policy to be refused:\n${text}`);
}

describe('parsePolicyFile: valid files', () => {
  test('the example from PRODUCT.md', () => {
    const text = [
      'fail-on: high',
      'max: { critical: 0, high: 10 }',
      'max-cvss: 9.0',
      'ignore-unfixed: true',
      'ignore:',
      '  - id: CVE-2023-44487',
      '    reason: HTTP/2 not exposed',
      '    expires: 2027-01-31          # after this date the ignore stops working and is reported',
      '    images: ["ghcr.io/acme/api*"]',
      '    packages: ["golang.org/x/net"]',
      'images:                          # per-image overrides, first match wins',
      '  - match: "ghcr.io/acme/legacy/*"',
      '    fail-on: critical',
      '',
    ].join('\n');
    expect(parsePolicyFile(text, '.github/policy.yml')).toEqual({
      file: '.github/policy.yml',
      failOn: 'HIGH',
      max: { CRITICAL: 0, HIGH: 10 },
      maxCvss: 9,
      ignoreUnfixed: true,
      expiredIgnores: undefined,
      scanErrors: undefined,
      ignore: [
        {
          id: 'CVE-2023-44487',
          reason: 'HTTP/2 not exposed',
          expires: '2027-01-31',
          images: ['ghcr.io/acme/api*'],
          packages: ['golang.org/x/net'],
          source: '.github/policy.yml:6',
        },
      ],
      images: [{ match: 'ghcr.io/acme/legacy/*', failOn: 'CRITICAL', source: '.github/policy.yml:12' }],
    });
  });

  test.each([
    ['fail-on: HIGH', 'HIGH'],
    ['fail-on: Medium', 'MEDIUM'],
    ['fail-on: none', 'NONE'],
    ['fail-on: unknown', 'UNKNOWN'],
  ])('fail-on is case-insensitive: %s', (text, expected) => {
    expect(parsePolicyFile(text, 'p.yml').failOn).toBe(expected);
  });

  test('an empty file (or only comments) is an empty policy', () => {
    const empty = parsePolicyFile('', 'p.yml');
    expect(empty).toMatchObject({ ignore: [], images: [] });
    expect(empty.failOn).toBeUndefined();
    expect(parsePolicyFile('# nothing yet\n', 'p.yml')).toMatchObject({ ignore: [], images: [] });
  });

  test('every key, including quoted dates, single strings for lists and the policy-level switches', () => {
    const p = parsePolicyFile(
      [
        'expired-ignores: fail',
        'scan-errors: warn',
        'max: { unknown: 3, low: 0 }',
        'ignore:',
        '  - id: DS002',
        '    expires: "2026-01-31"',
        '    images: ghcr.io/acme/*',
        '    packages: pkg:deb/debian/openssl',
        'images:',
        '  - match: "**/legacy/*"',
        '    max: { high: 50 }',
        '    max-cvss: 10',
        '    ignore-unfixed: false',
      ].join('\n'),
      'p.yml',
    );
    expect(p.expiredIgnores).toBe('fail');
    expect(p.scanErrors).toBe('warn');
    expect(p.max).toEqual({ UNKNOWN: 3, LOW: 0 });
    expect(p.ignore[0]).toEqual({
      id: 'DS002',
      expires: '2026-01-31',
      images: ['ghcr.io/acme/*'],
      packages: ['pkg:deb/debian/openssl'],
      reason: undefined,
      source: 'p.yml:5',
    });
    expect(p.images[0]).toEqual({
      match: '**/legacy/*',
      max: { HIGH: 50 },
      maxCvss: 10,
      ignoreUnfixed: false,
      source: 'p.yml:10',
    });
  });
});

// Each malformed file is refused with file:line:col, the key, and what is allowed. The expected line and column
// are read off the YAML text by hand (1-based), pointing at the offending key or value.
describe('parsePolicyFile: malformed files are refused with file:line:col and the key', () => {
  test.each<[string, string, string[]]>([
    [
      'typo in a top-level key',
      'fail_on: high\n',
      ['policy.yml:1:1:', 'unknown key "fail_on"', 'fail-on, max'],
    ],
    ['unknown severity', 'fail-on: hgih\n', ['policy.yml:1:10:', 'fail-on:', '"hgih"', 'critical, high']],
    ['negative count', 'max:\n  high: -1\n', ['policy.yml:2:9:', 'max.high:', '-1', 'whole number']],
    [
      'fractional count',
      'max:\n  critical: 1.5\n',
      ['policy.yml:2:13:', 'max.critical:', '1.5', 'whole number'],
    ],
    [
      'unknown severity under max',
      'max: { hihg: 1 }\n',
      ['policy.yml:1:8:', 'max:', 'unknown key "hihg"', 'critical, high, medium, low, unknown'],
    ],
    ['max is not a mapping', 'max: 5\n', ['policy.yml:1:6:', 'max:', 'critical: 0']],
    [
      'max-cvss above 10',
      'fail-on: high\nmax-cvss: 11\n',
      ['policy.yml:2:11:', 'max-cvss:', '11', '0 to 10'],
    ],
    ['max-cvss as a word', 'max-cvss: high\n', ['policy.yml:1:11:', 'max-cvss:', '"high"', '0 to 10']],
    [
      'ignore-unfixed as yes',
      'ignore-unfixed: yes\n',
      ['policy.yml:1:17:', 'ignore-unfixed:', '"yes"', 'true or false'],
    ],
    [
      'expired-ignores value',
      'expired-ignores: error\n',
      ['policy.yml:1:18:', 'expired-ignores:', '"error"', 'warn or fail'],
    ],
    [
      'scan-errors value',
      'scan-errors: ignore\n',
      ['policy.yml:1:14:', 'scan-errors:', '"ignore"', 'fail or warn'],
    ],
    ['ignore is a mapping', 'ignore:\n  id: CVE-1\n', ['policy.yml:2:3:', 'ignore:', 'list']],
    [
      'ignore entry without id',
      'ignore:\n  - reason: later\n',
      ['policy.yml:2:5:', 'ignore[0]:', 'missing key "id"'],
    ],
    [
      'ignore entry with a typo',
      'ignore:\n  - id: CVE-1\n    expiry: 2026-01-01\n',
      ['policy.yml:3:5:', 'ignore[0]:', 'unknown key "expiry"', 'expires'],
    ],
    [
      'impossible date',
      'ignore:\n  - id: CVE-1\n  - id: CVE-2\n    expires: 2026-13-01\n',
      ['policy.yml:4:14:', 'ignore[1].expires:', '"2026-13-01" is not a date (use YYYY-MM-DD)'],
    ],
    [
      'date in words',
      'ignore:\n  - id: CVE-1\n    expires: next week\n',
      ['policy.yml:3:14:', 'ignore[0].expires:', '"next week"', 'YYYY-MM-DD'],
    ],
    [
      'a package that is a number',
      'ignore:\n  - id: CVE-1\n    packages: [1]\n',
      ['policy.yml:3:16:', 'ignore[0].packages[0]:', 'package name or PURL'],
    ],
    ['empty id', 'ignore:\n  - id: ""\n', ['policy.yml:2:9:', 'ignore[0].id:', 'CVE']],
    [
      'image rule without match',
      'images:\n  - fail-on: high\n',
      ['policy.yml:2:5:', 'images[0]:', 'missing key "match"'],
    ],
    [
      'ignores are not allowed per image',
      'images:\n  - match: x\n    ignore: []\n',
      ['policy.yml:3:5:', 'images[0]:', 'unknown key "ignore"', 'match, fail-on'],
    ],
    [
      'bad fail-on per image',
      'images:\n  - match: x\n  - match: y\n    fail-on: severe\n',
      ['policy.yml:4:14:', 'images[1].fail-on:', '"severe"'],
    ],
    ['YAML syntax error', 'fail-on: [high\nmax: 1\n', ['policy.yml:2:1:', 'YAML syntax error']],
    ['duplicate key', 'fail-on: high\nfail-on: low\n', ['policy.yml:2:1:', 'duplicate key "fail-on"']],
    ['the root is a list', '- fail-on: high\n', ['policy.yml:1:1:', 'not a policy', 'fail-on, max']],
  ])('%s', (_name, text, expected) => {
    const e = refusal(text);
    expect(e.input).toBe('policy');
    for (const part of expected) expect(e.message).toContain(part);
  });

  test('several problems are all listed, in file order', () => {
    const e = refusal('ignore:\n  - id: CVE-1\n    package: x\nfail_on: high\n');
    const lines = e.message.split('\n');
    expect(lines[0]).toBe('policy.yml: 2 problems');
    expect(lines[1]).toMatch(
      /^policy\.yml:3:5: ignore\[0\]: unknown key "package" \(did you mean "packages"\?/,
    );
    expect(lines[2]).toMatch(/^policy\.yml:4:1: unknown key "fail_on"/);
  });
});

describe('loadPolicyFile', () => {
  test('reads the file relative to the workspace and names it as the user did', async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'policy-'));
    await mkdir(path.join(ws, '.github'));
    await writeFile(path.join(ws, '.github/policy.yml'), 'fail-on: high\nignore:\n  - id: CVE-1\n');
    const p = await loadPolicyFile('.github/policy.yml', ws);
    expect(p.failOn).toBe('HIGH');
    expect(p.ignore[0].source).toBe('.github/policy.yml:3');
  });

  test('a missing file is a ConfigurationError naming the policy input', async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'policy-'));
    const err = await loadPolicyFile('nope.yml', ws).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe('policy');
    expect((err as Error).message).toContain('"nope.yml" does not exist');
  });

  test('a malformed file on disk is refused with its path in the message', async () => {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'policy-'));
    await writeFile(path.join(ws, 'gate.yml'), 'fail-on: high\nmax-cvs: 9\n');
    await expect(loadPolicyFile('gate.yml', ws)).rejects.toThrow(
      /^gate\.yml:2:1: unknown key "max-cvs" \(did you mean "max-cvss"\?/,
    );
  });
});

describe('the policy file is untrusted repository content', () => {
  const OUTSIDE = 'fail-on: none # OUTSIDE-CONTENT-7c1e';

  async function workspaceWithOutside(): Promise<{ ws: string; outsideFile: string }> {
    const base = await mkdtemp(path.join(os.tmpdir(), 'policy-confine-'));
    const ws = path.join(base, 'ws');
    await mkdir(ws);
    const outsideFile = path.join(base, 'outside.yml');
    await writeFile(outsideFile, `${OUTSIDE}\n`);
    return { ws, outsideFile };
  }

  async function loadRefusal(file: string, ws: string): Promise<string> {
    const err = await loadPolicyFile(file, ws).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe('policy');
    const message = (err as Error).message;
    expect(message).toContain(JSON.stringify(file));
    expect(message).not.toContain('OUTSIDE-CONTENT');
    return message;
  }

  test('policy: /etc/passwd is refused without a line of it in the message', async () => {
    const { ws } = await workspaceWithOutside();
    const message = await loadRefusal('/etc/passwd', ws);
    expect(message).toMatch(/is outside the workspace/);
    expect(message).not.toContain('root:');
  });

  test('a policy file symlinked outside the workspace is refused, never read', async () => {
    const { ws, outsideFile } = await workspaceWithOutside();
    await symlink(outsideFile, path.join(ws, 'policy.yml'));
    expect(await loadRefusal('policy.yml', ws)).toMatch(/resolves outside the workspace/);
  });

  test('../ out of the workspace is refused', async () => {
    const { ws } = await workspaceWithOutside();
    expect(await loadRefusal('../outside.yml', ws)).toMatch(/is outside the workspace/);
  });

  test('a YAML alias bomb is refused quickly, naming the file', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    let previous = 'a';
    for (const name of 'bcdefghi') {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
      previous = name;
    }
    const started = Date.now();
    const e = refusal(lines.join('\n'), '.github/policy.yml');
    expect(Date.now() - started, 'finished, not hung').toBeLessThan(10_000);
    expect(e.input).toBe('policy');
    expect(e.message).toMatch(/^\.github\/policy\.yml: too many YAML alias expansions/);
    expect(e.message).not.toContain('lol');
  });

  test('a long value is quoted as one short line, never whole', () => {
    const long = `${'x'.repeat(500)}\nsecond line`;
    const e = refusal(`fail-on: ${JSON.stringify(long)}\n`);
    expect(e.message).toMatch(/^policy\.yml:1:10: fail-on: "x+…" is not a severity/);
    const quoted = /("[^"]*")/.exec(e.message)![1];
    expect(quoted.length).toBeLessThanOrEqual(80);
    expect(e.message).not.toContain('second line');
  });

  test('a long unknown key and a long duplicate key are cut to one short excerpt', () => {
    const key = 'k'.repeat(300);
    for (const text of [`${key}: 1\n`, `fail-on: high\n${key}: 1\n${key}: 2\n`]) {
      const e = refusal(text);
      expect(e.message).not.toContain('k'.repeat(81));
      expect(e.message).toMatch(/"k+…"/);
    }
  });

  test('a YAML syntax error names file:line:col and quotes at most one short line', () => {
    const e = refusal(`fail-on: high\nmax: [ ${'y'.repeat(400)}\n`);
    expect(e.message).toMatch(/^policy\.yml:\d+:\d+: YAML syntax error: /);
    for (const line of e.message.split('\n')) expect(line.length).toBeLessThan(160);
  });
});
