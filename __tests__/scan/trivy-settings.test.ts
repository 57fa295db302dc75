import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ConfigurationError } from '../../src/errors.js';
import {
  buildTrivySettings,
  describeTrivySettings,
  loadTrivySettings,
  parseTrivyConfigFile,
} from '../../src/scan/trivy-settings.js';

function refusal(text: string): ConfigurationError {
  try {
    parseTrivyConfigFile(text, 'ci/trivy.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as ConfigurationError).input).toBe('trivy-config');
    return e as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

const none = { skipFiles: [], skipDirs: [], vulnSeveritySource: [] };

describe('parseTrivyConfigFile', () => {
  test("keeps the settings Trivy may have, by their place in Trivy's trivy.yaml", () => {
    const entries = parseTrivyConfigFile(
      [
        'scan:',
        '  skip-dirs:',
        '    - usr/share/doc',
        '    - /opt/sdk',
        '  skip-files: [/app/key.pem]',
        '  detection-priority: comprehensive',
        'vulnerability:',
        '  severity-source: debian,nvd',
        'pkg:',
        '  include-dev-deps: true',
        'image:',
        '  removed-pkgs: true',
        '',
      ].join('\n'),
      'ci/trivy.yaml',
    );
    expect(entries).toEqual({
      'scan.skip-dirs': ['usr/share/doc', '/opt/sdk'],
      'scan.skip-files': ['/app/key.pem'],
      'scan.detection-priority': 'comprehensive',
      'vulnerability.severity-source': ['debian', 'nvd'],
      'pkg.include-dev-deps': true,
      'image.removed-pkgs': true,
    });
  });

  test('an empty file or an empty document sets nothing', () => {
    expect(parseTrivyConfigFile('', 'a.yaml')).toEqual({});
    expect(parseTrivyConfigFile('# nothing\n', 'a.yaml')).toEqual({});
  });

  test.each([
    ['format: sarif\n', 'format', 1, '`sbom`'],
    ['output: out.json\n', 'output', 1, '`output-dir`'],
    ['severity:\n  - CRITICAL\n', 'severity', 1, '`fail-on`'],
    ['exit-code: 1\n', 'exit-code', 1, '`fail-on`'],
    ['exit-on-eol: 1\n', 'exit-on-eol', 1, '`gate`'],
    ['vulnerability:\n  ignore-unfixed: true\n', 'vulnerability.ignore-unfixed', 2, '`ignore-unfixed` input'],
    ['list-all-pkgs: true\n', 'list-all-pkgs', 1, '`sbom`'],
    ['quiet: false\n', 'quiet', 1, 'quietly'],
    ['cache:\n  dir: /tmp/c\n', 'cache.dir', 2, '`cache-db`'],
    ['cache:\n  backend: redis://x\n', 'cache.backend', 2, '`cache-db`'],
    ['db:\n  repository: [my.mirror/db:2]\n', 'db.repository', 2, '`db-repository` input'],
    ['db:\n  skip-update: true\n', 'db.skip-update', 2, '`cache-db`'],
    ['server:\n  addr: http://trivy:4954\n', 'server.addr', 2, 'client/server mode'],
    ['scan:\n  scanners: [vuln]\n', 'scan.scanners', 2, '`scanners` input'],
    ['pkg:\n  types: [os]\n', 'pkg.types', 2, '`pkg-types` input'],
    ['ignorefile: .trivyignore\n', 'ignorefile', 1, '`ignore-file` input'],
    ['ignore-policy: p.rego\n', 'ignore-policy', 1, '`ignore-policy` input'],
    ['vulnerability:\n  ignore-status: [will_not_fix]\n', 'vulnerability.ignore-status', 2, 'summary shows'],
    ['registry:\n  username: [me]\n', 'registry.username', 2, 'never from a repository file'],
    ['insecure: true\n', 'insecure', 1, 'TLS'],
    ['module:\n  enable-modules: [x]\n', 'module.enable-modules', 2, 'run code'],
    ['timeout: 1h\n', 'timeout', 1, '`timeout` input'],
    ['scan:\n  compliance: docker-cis\n', 'scan.compliance', 2, 'one full JSON report'],
  ])('refuses %j naming %s, its line and what to use', (text, key, line, advice) => {
    const e = refusal(text);
    expect(e.message).toContain(`ci/trivy.yaml:${line}:`);
    expect(e.message).toContain(`\`${key}\` is refused`);
    expect(e.message).toContain(advice);
  });

  test('unknown keys are refused (an allow-list: a newer key could change the report)', () => {
    const e = refusal('scan:\n  skip-dir: [x]\nfuture-flag: true\n');
    expect(e.message).toContain('ci/trivy.yaml:2:3: `scan.skip-dir` is not a Trivy image-scan setting');
    expect(e.message).toContain('ci/trivy.yaml:3:1: `future-flag` is not');
  });

  test('every problem is listed at once; values are never echoed', () => {
    const e = refusal('format: "SECRET-VALUE-1"\nscan:\n  detection-priority: fast\n  parallel: many\n');
    expect(e.message.split('\n').filter((l) => l.startsWith('- '))).toHaveLength(3);
    expect(e.message).toContain(
      '`scan.detection-priority` is not one Trivy takes; allowed: precise, comprehensive',
    );
    expect(e.message).toContain('`scan.parallel` must be a number');
    expect(e.message).not.toContain('SECRET-VALUE-1');
    expect(e.message).not.toMatch(/\bmany\b/);
  });

  test('a bad severity source is refused with the allowed values', () => {
    expect(refusal('vulnerability:\n  severity-source: [nvd, vendor]\n').message).toContain(
      'allowed: nvd, redhat',
    );
  });

  test('YAML errors and a document that is not a mapping are refused naming the file', () => {
    expect(refusal('scan: [unclosed\n').message).toMatch(/ci\/trivy\.yaml:\d+:\d+: YAML syntax error/);
    expect(refusal('- a\n- b\n').message).toContain('not a mapping of Trivy settings');
    expect(refusal('scan:\n  skip-dirs: [a]\nscan:\n  skip-files: [b]\n').message).toMatch(
      /YAML syntax error/,
    );
  });
});

describe('buildTrivySettings', () => {
  test('the accepted keys become a trivy.yaml of the same layout; the fingerprint follows every setting', () => {
    const entries = { 'scan.skip-dirs': ['a', 'b'], 'scan.detection-priority': 'comprehensive' };
    const s = buildTrivySettings(entries, {}, none);
    expect(parse(s.configYaml)).toEqual({
      scan: { 'skip-dirs': ['a', 'b'], 'detection-priority': 'comprehensive' },
    });
    expect(s.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const variants = [
      buildTrivySettings({ ...entries, 'scan.skip-dirs': ['a'] }, {}, none),
      buildTrivySettings(entries, { ignorePolicy: { shown: 'p.rego', text: 'package trivy\n' } }, none),
      buildTrivySettings(entries, {}, { ...none, skipFiles: ['x'] }),
      buildTrivySettings(entries, {}, { ...none, skipDirs: ['x'] }),
      buildTrivySettings(entries, {}, { ...none, detectionPriority: 'precise' }),
      buildTrivySettings(entries, {}, { ...none, vulnSeveritySource: ['nvd'] }),
    ];
    const prints = new Set([s.fingerprint, ...variants.map((v) => v.fingerprint)]);
    expect(prints.size).toBe(variants.length + 1);
    // the same settings in another order of keys: the same fingerprint
    const reordered = buildTrivySettings(
      { 'scan.detection-priority': 'comprehensive', 'scan.skip-dirs': ['a', 'b'] },
      {},
      none,
    );
    expect(reordered.fingerprint).toBe(s.fingerprint);
  });

  test('nothing set: no config file content and no fingerprint (reuse keys stay as before)', () => {
    const s = buildTrivySettings({}, {}, none);
    expect(s.configYaml).toBe('');
    expect(s.fingerprint).toBeUndefined();
    expect(describeTrivySettings(s, {})).toBeUndefined();
  });

  test('the summary line names keys and inputs, not values from the file', () => {
    const s = buildTrivySettings(
      { 'scan.skip-dirs': ['/secret-path'] },
      { ignorePolicy: { shown: 'ci/p.rego', text: 'package trivy' } },
      none,
    );
    const line = describeTrivySettings(s, { configFile: 'ci/trivy.yaml' });
    expect(line).toContain('ci/trivy.yaml: scan.skip-dirs');
    expect(line).toContain('ignore-policy ci/p.rego (findings it drops are not reported)');
    expect(line).not.toContain('/secret-path');
  });
});

describe('loadTrivySettings', () => {
  async function workspace(files: Record<string, string>): Promise<string> {
    const ws = await mkdtemp(path.join(os.tmpdir(), 'trivy-settings-'));
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(ws, name)), { recursive: true });
      await writeFile(path.join(ws, name), text);
    }
    return ws;
  }
  const inputs = { ...none, configFile: undefined, ignorePolicy: undefined };

  test('reads both files from the workspace', async () => {
    const ws = await workspace({
      'ci/trivy.yaml': 'scan:\n  skip-dirs: [usr/share/doc]\n',
      'ci/ignore.rego': 'package trivy\n\nignore { input.PkgName == "bash" }\n',
    });
    const s = await loadTrivySettings(
      { ...inputs, configFile: 'ci/trivy.yaml', ignorePolicy: 'ci/ignore.rego' },
      ws,
    );
    expect(s.configKeys).toEqual(['scan.skip-dirs']);
    expect(s.ignorePolicy?.text).toContain('input.PkgName');
  });

  test.each([
    ['trivy-config', { configFile: 'missing.yaml' }, /"missing.yaml" does not exist/],
    ['ignore-policy', { ignorePolicy: 'missing.rego' }, /"missing.rego" does not exist/],
    ['trivy-config', { configFile: '../outside.yaml' }, /outside the workspace/],
  ])('%s: a missing or outside file is refused naming the input', async (input, over, message) => {
    const ws = await workspace({});
    const e = await loadTrivySettings({ ...inputs, ...over }, ws).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as ConfigurationError).input).toBe(input);
    expect((e as Error).message).toMatch(message);
  });

  test('a symlink out of the workspace is refused, never read', async () => {
    const ws = await workspace({});
    await symlink('/etc/passwd', path.join(ws, 'ignore.rego'));
    const e = await loadTrivySettings({ ...inputs, ignorePolicy: 'ignore.rego' }, ws).catch(
      (err: unknown) => err,
    );
    expect((e as ConfigurationError).input).toBe('ignore-policy');
    expect((e as Error).message).toContain('resolves outside the workspace');
    expect((e as Error).message).not.toContain('root:');
  });

  test("secret.config: the rules file is read from the repository (not Trivy's cwd) and kept out of the written config", async () => {
    const ws = await workspace({
      'ci/trivy.yaml': 'secret:\n  config: ci/trivy-secret.yaml\nscan:\n  skip-dirs: [opt]\n',
      'ci/trivy-secret.yaml': 'rules:\n  - id: internal-token\n',
    });
    const s = await loadTrivySettings({ ...inputs, configFile: 'ci/trivy.yaml' }, ws);
    expect(s.secretConfig).toEqual({
      shown: 'ci/trivy-secret.yaml',
      text: 'rules:\n  - id: internal-token\n',
    });
    expect(parse(s.configYaml)).toEqual({ scan: { 'skip-dirs': ['opt'] } });
    // editing the rules changes the reuse key
    await writeFile(path.join(ws, 'ci/trivy-secret.yaml'), 'rules:\n  - id: other\n');
    const edited = await loadTrivySettings({ ...inputs, configFile: 'ci/trivy.yaml' }, ws);
    expect(edited.fingerprint).not.toBe(s.fingerprint);
  });

  test('secret.config that is missing or leads outside is refused naming trivy-config and the key', async () => {
    const ws = await workspace({
      'a.yaml': 'secret:\n  config: nope.yaml\n',
      'b.yaml': 'secret:\n  config: ../../etc/passwd\n',
    });
    const missing = await loadTrivySettings({ ...inputs, configFile: 'a.yaml' }, ws).catch((e: unknown) => e);
    expect((missing as ConfigurationError).input).toBe('trivy-config');
    expect((missing as Error).message).toContain(
      '`trivy-config` (its `secret.config`): "nope.yaml" does not exist',
    );
    const outside = await loadTrivySettings({ ...inputs, configFile: 'b.yaml' }, ws).catch((e: unknown) => e);
    expect((outside as Error).message).toContain('is outside the workspace');
  });

  test('a Rego file without `package trivy` is refused (Trivy would ignore nothing)', async () => {
    const ws = await workspace({ 'p.rego': 'package mypolicy\nignore { true }\n' });
    const e = await loadTrivySettings({ ...inputs, ignorePolicy: 'p.rego' }, ws).catch((err: unknown) => err);
    expect((e as ConfigurationError).input).toBe('ignore-policy');
    expect((e as Error).message).toContain('no `package trivy` line');
  });
});
