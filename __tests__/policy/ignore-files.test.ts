import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import {
  loadIgnoreFiles,
  parseIgnoreFile,
  parseTrivyIgnore,
  parseTrivyIgnoreYaml,
} from '../../src/policy/ignore-files.js';

describe('.trivyignore (one ID per line)', () => {
  test('IDs, comments, blank lines, exp: dates and other fields as Trivy reads them', () => {
    const text = [
      '# vulnerabilities',
      'CVE-2019-0001',
      '',
      '  CVE-2019-0004 exp:2020-01-01',
      'CVE-2019-0006 exp:9999-01-01 key2:value2',
      'CVE-2019-0007 # not exploitable here',
      'AVD-DS-0002',
      'generic-unwanted-rule',
    ].join('\n');
    expect(parseTrivyIgnore(text, '.trivyignore')).toEqual([
      { id: 'CVE-2019-0001', source: '.trivyignore:2' },
      { id: 'CVE-2019-0004', expires: '2020-01-01', source: '.trivyignore:4' },
      { id: 'CVE-2019-0006', expires: '9999-01-01', source: '.trivyignore:5' },
      { id: 'CVE-2019-0007', source: '.trivyignore:6' },
      { id: 'AVD-DS-0002', source: '.trivyignore:7' },
      { id: 'generic-unwanted-rule', source: '.trivyignore:8' },
    ]);
  });

  test('Windows line endings', () => {
    expect(parseTrivyIgnore('CVE-1\r\nCVE-2 exp:2026-01-31\r\n', 'x')).toEqual([
      { id: 'CVE-1', source: 'x:1' },
      { id: 'CVE-2', expires: '2026-01-31', source: 'x:2' },
    ]);
  });

  test.each(['exp:2026-02-30', 'exp:31/01/2026', 'exp:'])(
    'a bad expiry (%s) is refused with file:line',
    (exp) => {
      const e = (() => {
        try {
          parseTrivyIgnore(`CVE-1\nCVE-2 ${exp}\n`, '.trivyignore');
        } catch (err) {
          return err as ConfigurationError;
        }
        throw new Error('expected a refusal');
      })();
      expect(e).toBeInstanceOf(ConfigurationError);
      expect(e.input).toBe('ignore-file');
      expect(e.message).toContain('.trivyignore:2:');
      expect(e.message).toContain('exp:YYYY-MM-DD');
    },
  );
});

describe('.trivyignore.yaml (Trivy structured format)', () => {
  test('sections map to finding kinds; statement is the reason; purls restrict packages; paths kept', () => {
    const text = [
      'vulnerabilities:',
      '  - id: CVE-2019-0001',
      '    paths:',
      '      - "**/*-lock.json"',
      '  - id: CVE-2019-0005',
      '    expired_at: 2023-01-01',
      '    statement: Accept the risk',
      '  - id: CVE-2019-0007',
      '    purls:',
      '      - "pkg:golang/github.com/aquasecurity/bar"',
      '  - purls: ["pkg:deb/ubuntu/linux-libc-dev"]',
      '    statement: Kernel headers, not exercised at runtime',
      'misconfigurations:',
      '  - id: DS002',
      'secrets:',
      '  - id: generic-unwanted-rule',
      'licenses:',
      '  - id: GPL-3.0',
    ].join('\n');
    // every class of Trivy's Vulnerabilities list, `unknown` included (model.ts isVulnerability)
    const vuln = ['os-pkgs', 'lang-pkgs', 'unknown'];
    expect(parseTrivyIgnoreYaml(text, '.trivyignore.yaml')).toEqual([
      { id: 'CVE-2019-0001', paths: ['**/*-lock.json'], classes: vuln, source: '.trivyignore.yaml:2' },
      {
        id: 'CVE-2019-0005',
        expires: '2023-01-01',
        reason: 'Accept the risk',
        classes: vuln,
        source: '.trivyignore.yaml:5',
      },
      {
        id: 'CVE-2019-0007',
        packages: ['pkg:golang/github.com/aquasecurity/bar'],
        classes: vuln,
        source: '.trivyignore.yaml:8',
      },
      {
        packages: ['pkg:deb/ubuntu/linux-libc-dev'],
        reason: 'Kernel headers, not exercised at runtime',
        classes: vuln,
        source: '.trivyignore.yaml:11',
      },
      { id: 'DS002', classes: ['config'], source: '.trivyignore.yaml:14' },
      { id: 'generic-unwanted-rule', classes: ['secret'], source: '.trivyignore.yaml:16' },
      { id: 'GPL-3.0', classes: ['license'], source: '.trivyignore.yaml:18' },
    ]);
  });

  test('empty sections are fine', () => {
    expect(parseTrivyIgnoreYaml('vulnerabilities:\nsecrets:\nlicenses:\n', 'i.yaml')).toEqual([]);
  });

  test.each<[string, string, string[]]>([
    [
      'typo in an entry key',
      'vulnerabilities:\n  - id: CVE-1\n    expired-at: 2026-01-01\n',
      ['i.yaml:3:5:', 'unknown key "expired-at"', 'did you mean "expired_at"'],
    ],
    [
      'unknown section',
      'vulnerabilites:\n  - id: CVE-1\n',
      ['i.yaml:1:1:', 'unknown key "vulnerabilites"', 'vulnerabilities'],
    ],
    [
      'bad date',
      'vulnerabilities:\n  - id: CVE-1\n    expired_at: 2026-02-30\n',
      ['i.yaml:3:17:', 'vulnerabilities[0].expired_at:', 'YYYY-MM-DD'],
    ],
    [
      'an entry that selects nothing',
      'secrets:\n  - statement: everything?\n',
      ['i.yaml:2:5:', 'secrets[0]:', 'missing key "id"', 'paths or purls'],
    ],
    [
      'a PURL that is not one',
      'vulnerabilities:\n  - id: CVE-1\n    purls: [openssl]\n',
      ['i.yaml:3:13:', 'vulnerabilities[0].purls[0]:', 'pkg:deb'],
    ],
  ])('refused: %s', (_name, text, expected) => {
    let error: unknown;
    try {
      parseTrivyIgnoreYaml(text, 'i.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).input).toBe('ignore-file');
    for (const part of expected) expect((error as Error).message).toContain(part);
  });

  test('parseIgnoreFile picks the syntax by extension, as Trivy does', () => {
    expect(parseIgnoreFile('vulnerabilities:\n  - id: CVE-1\n', 'custom.yml')[0].classes).toEqual([
      'os-pkgs',
      'lang-pkgs',
      'unknown',
    ]);
    expect(parseIgnoreFile('CVE-1\n', 'ignores.txt')).toEqual([{ id: 'CVE-1', source: 'ignores.txt:1' }]);
  });
});

describe('loadIgnoreFiles', () => {
  async function workspace(files: Record<string, string>): Promise<string> {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'ignores-'));
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(ws, name), text);
    return ws;
  }

  test('no input and no file: no ignores', async () => {
    expect(await loadIgnoreFiles([], await workspace({}))).toEqual([]);
  });

  test('no input: .trivyignore.yaml is preferred over .trivyignore', async () => {
    const ws = await workspace({
      '.trivyignore': 'CVE-1\n',
      '.trivyignore.yaml': 'vulnerabilities:\n  - id: CVE-2\n',
    });
    expect((await loadIgnoreFiles([], ws)).map((r) => r.source)).toEqual(['.trivyignore.yaml:2']);
  });

  test('no input: .trivyignore when it is the only one', async () => {
    const ws = await workspace({ '.trivyignore': '# c\nCVE-1\n' });
    expect(await loadIgnoreFiles([], ws)).toEqual([{ id: 'CVE-1', source: '.trivyignore:2' }]);
  });

  test('an explicit path is read with its own name in the sources', async () => {
    const ws = await workspace({
      'security-ignores.yaml': 'vulnerabilities:\n  - id: CVE-9\n',
      '.trivyignore': 'CVE-1\n',
    });
    const rules = await loadIgnoreFiles(['security-ignores.yaml'], ws);
    expect(rules.map((r) => [r.id, r.source])).toEqual([['CVE-9', 'security-ignores.yaml:2']]);
  });

  test("a list of files (as trivy-action's trivyignores): all read, merged in order, each rule with its file", async () => {
    const ws = await workspace({
      'base.trivyignore': 'CVE-1\n',
      'team.trivyignore.yaml': 'vulnerabilities:\n  - id: CVE-2\n    statement: accepted\n',
      '.trivyignore': 'CVE-3\n',
    });
    const rules = await loadIgnoreFiles(
      ['base.trivyignore', 'team.trivyignore.yaml', 'base.trivyignore'],
      ws,
    );
    // the default .trivyignore is not read when files are listed; a file listed twice is read once
    expect(rules.map((r) => [r.id, r.source, r.reason])).toEqual([
      ['CVE-1', 'base.trivyignore:1', undefined],
      ['CVE-2', 'team.trivyignore.yaml:2', 'accepted'],
    ]);
  });

  test('a list: an error in the second file names that file', async () => {
    const ws = await workspace({ 'a.trivyignore': 'CVE-1\n', 'b.trivyignore': 'CVE-2 exp:2027-13-45\n' });
    const err = await loadIgnoreFiles(['a.trivyignore', 'b.trivyignore'], ws).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/^b\.trivyignore:1: /);
    const missing = await loadIgnoreFiles(['a.trivyignore', 'gone.trivyignore'], ws).catch((e: unknown) => e);
    expect((missing as Error).message).toContain('"gone.trivyignore" does not exist');
  });

  test('an explicit path that does not exist is a ConfigurationError naming ignore-file', async () => {
    const err = await loadIgnoreFiles(['missing.trivyignore'], await workspace({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe('ignore-file');
    expect((err as Error).message).toContain('"missing.trivyignore" does not exist');
  });
});

describe('ignore files are untrusted repository content', () => {
  const OUTSIDE = 'CVE-OUTSIDE-CONTENT-93ab';

  async function layout(): Promise<{ ws: string; outsideDir: string }> {
    const base = await mkdtemp(path.join(os.tmpdir(), 'ignores-confine-'));
    const ws = path.join(base, 'ws');
    const outsideDir = path.join(base, 'outside');
    await mkdir(ws);
    await mkdir(outsideDir);
    await writeFile(path.join(outsideDir, 'ignores'), `${OUTSIDE}\n`);
    await writeFile(path.join(outsideDir, 'ignores.yaml'), `vulnerabilities:\n  - id: ${OUTSIDE}\n`);
    return { ws, outsideDir };
  }

  async function refusal(explicit: string | undefined, ws: string): Promise<string> {
    const err = await loadIgnoreFiles(explicit === undefined ? [] : [explicit], ws).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe('ignore-file');
    expect((err as Error).message).not.toContain(OUTSIDE);
    return (err as Error).message;
  }

  test('a committed .trivyignore symlinked to /proc/self/environ is refused, never read', async () => {
    const { ws } = await layout();
    await symlink('/proc/self/environ', path.join(ws, '.trivyignore'));
    const message = await refusal(undefined, ws);
    expect(message).toMatch(/^`ignore-file`: "\.trivyignore" resolves outside the workspace/);
    expect(message).not.toMatch(/PATH=|HOME=/);
  });

  test('a committed .trivyignore.yaml symlinked to a file outside is refused', async () => {
    const { ws, outsideDir } = await layout();
    await symlink(path.join(outsideDir, 'ignores.yaml'), path.join(ws, '.trivyignore.yaml'));
    expect(await refusal(undefined, ws)).toMatch(/"\.trivyignore\.yaml" resolves outside the workspace/);
  });

  test('ignore-file: ../outside is refused', async () => {
    const { ws } = await layout();
    expect(await refusal('../outside/ignores', ws)).toMatch(
      /"\.\.\/outside\/ignores" is outside the workspace/,
    );
  });

  test('a .trivyignore that is a directory is refused rather than skipped', async () => {
    const { ws } = await layout();
    await mkdir(path.join(ws, '.trivyignore'));
    expect(await refusal(undefined, ws)).toMatch(/is a directory/);
  });

  test('a huge .trivyignore is refused, not read into memory', async () => {
    const { ws } = await layout();
    await writeFile(path.join(ws, '.trivyignore'), Buffer.alloc(6 * 1024 * 1024, 'C'));
    expect(await refusal(undefined, ws)).toMatch(/larger than 5 MiB/);
  });

  test('a symlink to an ignore file inside the workspace is still read', async () => {
    const { ws } = await layout();
    await mkdir(path.join(ws, 'security'));
    await writeFile(path.join(ws, 'security', 'ignores'), 'CVE-1\n');
    await symlink('security/ignores', path.join(ws, '.trivyignore'));
    expect(await loadIgnoreFiles([], ws)).toEqual([{ id: 'CVE-1', source: '.trivyignore:1' }]);
  });

  test('a .trivyignore.yaml alias bomb is refused naming the file', () => {
    const lines = ['x: &a [1,1,1,1,1,1,1,1,1,1]'];
    let previous = 'a';
    for (const name of 'bcdefgh') {
      lines.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(',')}]`);
      previous = name;
    }
    expect(() => parseTrivyIgnoreYaml(lines.join('\n'), '.trivyignore.yaml')).toThrow(
      /^\.trivyignore\.yaml: too many YAML alias expansions/,
    );
  });

  test('a long bad expiry is quoted as a short excerpt', () => {
    const field = `exp:${'9'.repeat(400)}`;
    const e = (() => {
      try {
        parseTrivyIgnore(`CVE-1 ${field}\n`, '.trivyignore');
      } catch (err) {
        return err as Error;
      }
      throw new Error('expected a refusal');
    })();
    expect(e.message).toMatch(/^\.trivyignore:1: "exp:9+…" is not an expiry date/);
    expect(e.message).not.toContain('9'.repeat(81));
  });
});
