import { createHash } from 'node:crypto';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Node } from 'yaml';
import type { TrivyConfig } from '../config.js';
import { ConfigurationError, firstLineOf } from '../errors.js';
import { locateRepositoryFile, quotePath, readRepositoryFile } from '../infra/workspace-files.js';

// Trivy's own settings, given explicitly: `trivy-config` (a trivy.yaml in the repository), `skip-files`,
// `skip-dirs`, `detection-priority`, `vuln-severity-source` and `ignore-policy`. Every scan still asks Trivy for one
// full JSON report that every view is derived from, so a config key that would change the report's shape, drop
// findings before the action sees them, move the caches or DBs, take credentials or TLS settings from a repository
// file, or run code, is refused naming the key, its line and the input to use instead. Only keys known to be safe
// for `trivy image` pass (an allow-list: a key this action does not know could be any of the above in a newer
// Trivy). The accepted part is written to a file in Trivy's private directory (install/trivy-isolation.ts), never
// read by Trivy from the workspace, and everything here is part of the result-reuse key.

export const DETECTION_PRIORITIES = ['precise', 'comprehensive'] as const;
export type DetectionPriority = (typeof DETECTION_PRIORITIES)[number];

/** Trivy's `--vuln-severity-source` values (cli/trivy_image.md, v0.74). */
export const VULN_SEVERITY_SOURCES = [
  'nvd',
  'redhat',
  'redhat-oval',
  'debian',
  'ubuntu',
  'alpine',
  'amazon',
  'oracle-oval',
  'suse-cvrf',
  'photon',
  'arch-linux',
  'alma',
  'rocky',
  'cbl-mariner',
  'azure',
  'ruby-advisory-db',
  'php-security-advisories',
  'nodejs-security-wg',
  'ghsa',
  'glad',
  'aqua',
  'osv',
  'k8s',
  'wolfi',
  'chainguard',
  'bitnami',
  'govulndb',
  'julia',
  'bottlerocket',
  'echo',
  'minimos',
  'rootio',
  'rapidfort',
  'auto',
] as const;

type ValueType = 'string' | 'strings' | 'boolean' | 'number';
interface Allowed {
  type: ValueType;
  values?: readonly string[];
}

/** Keys passed to Trivy, by their place in trivy.yaml (docs/guide/references/configuration/config-file.md). */
const ALLOWED: Record<string, Allowed> = {
  'scan.skip-dirs': { type: 'strings' },
  'scan.skip-files': { type: 'strings' },
  'scan.detection-priority': { type: 'string', values: DETECTION_PRIORITIES },
  'scan.file-patterns': { type: 'strings' },
  'scan.offline': { type: 'boolean' },
  'scan.distro': { type: 'string' },
  'scan.parallel': { type: 'number' },
  'scan.sbom-sources': { type: 'strings', values: ['oci', 'rekor'] },
  'scan.rekor-url': { type: 'string' },
  // The action passes both as flags (which win over the file): harmless to leave in a shared trivy.yaml.
  'scan.disable-telemetry': { type: 'boolean' },
  'scan.skip-version-check': { type: 'boolean' },
  'vulnerability.severity-source': { type: 'strings', values: VULN_SEVERITY_SOURCES },
  'vulnerability.skip-vex-repo-update': { type: 'boolean' },
  'pkg.include-dev-deps': { type: 'boolean' },
  'pkg.relationships': {
    type: 'strings',
    values: ['unknown', 'root', 'workspace', 'direct', 'indirect'],
  },
  'image.removed-pkgs': { type: 'boolean' },
  'image.max-size': { type: 'string' },
  'image.image-config-scanners': { type: 'strings', values: ['misconfig', 'secret'] },
  'license.full': { type: 'boolean' },
  'license.confidenceLevel': { type: 'number' },
  'license.forbidden': { type: 'strings' },
  'license.restricted': { type: 'strings' },
  'license.reciprocal': { type: 'strings' },
  'license.notice': { type: 'strings' },
  'license.permissive': { type: 'strings' },
  'license.unencumbered': { type: 'strings' },
  'license.ignored': { type: 'strings' },
  'misconfiguration.scanners': { type: 'strings' },
  'misconfiguration.checks-bundle-repository': { type: 'string' },
  'rego.skip-check-update': { type: 'boolean' },
  'rego.include-deprecated-checks': { type: 'boolean' },
  // Trivy's secret rules, a repository path: read confined, given to Trivy as a private copy (loadTrivySettings).
  'secret.config': { type: 'string' },
};

const SECRET_CONFIG_KEY = 'secret.config';

const ONE_REPORT =
  'the action asks Trivy for one full JSON report and renders the summary, SARIF, comment and results file from it';
const GATE = "the gate is the action's own: use `fail-on`, `max-critical`… and `gate`";
const CACHE = "the action keeps Trivy's cache and DBs itself: use `cache-db`";

/** Refused keys (exact, or a section ending in `.`) -> why, and what to use instead. */
const REFUSED: [string, string][] = [
  ['format', `${ONE_REPORT}; for an SBOM use \`sbom\``],
  ['output', `${ONE_REPORT}; files go to \`output-dir\``],
  ['template', ONE_REPORT],
  ['report', ONE_REPORT],
  ['table-mode', ONE_REPORT],
  ['output-plugin-arg', ONE_REPORT],
  ['dependency-tree', ONE_REPORT],
  ['list-all-pkgs', `${ONE_REPORT}; for every package use \`sbom\``],
  ['scan.compliance', ONE_REPORT],
  ['severity', 'use the `severity` input (what is shown) and `fail-on` (what fails)'],
  ['exit-code', GATE],
  ['exit-on-eol', GATE],
  ['ignore-unfixed', 'use the `ignore-unfixed` input'],
  ['vulnerability.ignore-unfixed', 'use the `ignore-unfixed` input'],
  [
    'vulnerability.ignore-status',
    'it would drop findings before the action sees them: use `ignore-unfixed`, or ignores in `ignore-file` or `policy`, which the summary shows',
  ],
  ['scan.show-suppressed', 'the action shows ignored findings itself'],
  ['ignorefile', 'use the `ignore-file` input'],
  ['ignore-policy', 'use the `ignore-policy` input'],
  ['vulnerability.vex', 'use the `vex` input'],
  ['quiet', "the action runs Trivy quietly and reports Trivy's errors per image"],
  ['debug', "the action runs Trivy quietly and reports Trivy's errors per image"],
  ['timeout', 'use the `timeout` input (the time limit per image)'],
  ['cache-dir', CACHE],
  ['cache.', CACHE],
  ['db.repository', 'use the `db-repository` input'],
  ['db.java-repository', 'use the `java-db-repository` input'],
  [
    'db.',
    "the action downloads Trivy's DBs once before the scans: use `db-repository`, `java-db-repository`, `cache-db`",
  ],
  ['server.', 'client/server mode is not supported: Trivy runs in the job'],
  ['clean.', 'not a scan setting'],
  ['scan.scanners', 'use the `scanners` input'],
  ['scan.security-checks', 'use the `scanners` input'],
  ['pkg.types', 'use the `pkg-types` input'],
  ['vulnerability.type', 'use the `pkg-types` input'],
  ['image.platform', 'use the `platform` input'],
  ['image.source', 'use the `image-source` input'],
  ['image.input', 'name the archive in `images`'],
  ['image.docker.', 'use `image-source: docker` (Trivy finds the daemon through DOCKER_HOST)'],
  ['image.podman.', 'use `image-source: podman`'],
  [
    'registry.',
    'credentials and registries come from the credential inputs (`registry-auth`…), never from a repository file',
  ],
  ['cacert', 'TLS settings are not taken from a repository file'],
  ['insecure', 'TLS settings are not taken from a repository file'],
  ['module.', 'Trivy modules run code; they are not loaded from a repository file'],
  ['misconfiguration.include-non-failures', ONE_REPORT],
  ['secret.', 'not a setting this action passes on'],
  ['misconfiguration.', 'it names files by path; Trivy runs in a private directory, where they are not'],
  ['rego.', 'it names files by path or changes what Trivy prints; Trivy runs in a private directory'],
  ['ansible.', 'it names files by path; Trivy runs in a private directory, where they are not'],
  ['kubernetes.', 'not a setting of image scans'],
  ['repository.', 'not a setting of image scans'],
  ['cloud.', 'not a setting of image scans'],
];

/** Mappings the allow-list or the refusals go into (any other mapping is an unknown key). */
const SECTIONS = new Set(
  [...Object.keys(ALLOWED), ...REFUSED.map(([k]) => k)]
    .flatMap((key) => {
      const parts = key.replace(/\.$/, '').split('.');
      return parts
        .slice(0, key.endsWith('.') ? parts.length : -1)
        .map((_, i) => parts.slice(0, i + 1).join('.'));
    })
    .filter(Boolean),
);

/** The accepted part of a trivy.yaml: dotted key -> value (lists as string arrays). */
export type TrivyConfigEntries = Record<string, string | number | boolean | string[]>;

/**
 * Validates a trivy.yaml and keeps the keys Trivy may have. One ConfigurationError lists every refused key with
 * `file:line`, why, and the input to use. Values are never echoed (the file is untrusted), only key names.
 */
export function parseTrivyConfigFile(text: string, file: string): TrivyConfigEntries {
  const input = 'trivy-config';
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (node: Node | null | undefined) => {
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, col } = lineCounter.linePos(e.pos[0]);
    throw new ConfigurationError(
      `\`${input}\`: ${file}:${line}:${col}: YAML syntax error: ${firstLineOf(e.message, 80)}. ` +
        "Write Trivy's trivy.yaml layout (e.g. scan:\\n  skip-dirs: [usr/share/doc]).",
      input,
    );
  }
  const problems: string[] = [];
  const entries: TrivyConfigEntries = {};
  const root = doc.contents;
  if (root !== null && !(isScalar(root) && root.value === null)) {
    if (!isMap(root))
      throw new ConfigurationError(`\`${input}\`: ${file} is not a mapping of Trivy settings.`, input);
    walk(root, '');
  }
  if (problems.length > 0) {
    throw new ConfigurationError(
      `\`${input}\`: ${file} has settings this action cannot pass to Trivy:\n${problems.map((p) => `- ${p}`).join('\n')}`,
      input,
    );
  }
  return entries;

  function walk(map: Node, prefix: string): void {
    if (!isMap(map)) return;
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      const name = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (name === undefined || !/^[A-Za-z0-9_-]+$/.test(name)) {
        problems.push(`${at(keyNode)}: a key that is not a Trivy setting name; remove it`);
        continue;
      }
      const key = prefix + name;
      const where = `${at(keyNode)}: \`${key}\``;
      const refused = REFUSED.find(([k]) => (k.endsWith('.') ? key.startsWith(k) : k === key));
      if (refused && !ALLOWED[key]) {
        problems.push(`${where} is refused: ${refused[1]}`);
        continue;
      }
      const value = pair.value as Node | null;
      const rule = ALLOWED[key] as Allowed | undefined;
      if (rule) {
        const parsed = leafValue(value, rule);
        if (typeof parsed === 'string' && parsed.startsWith('!'))
          problems.push(`${where} ${parsed.slice(1)}`);
        else if (parsed !== undefined) entries[key] = parsed;
        continue;
      }
      if (SECTIONS.has(key) && isMap(value)) {
        walk(value, `${key}.`);
        continue;
      }
      problems.push(
        `${where} is not a Trivy image-scan setting this action passes on; remove it (the README lists the keys it takes)`,
      );
    }
  }
}

/** A leaf's value, or `!why` when it has the wrong type; undefined for an empty value (Trivy's default). */
function leafValue(node: Node | null, rule: Allowed): TrivyConfigEntries[string] | undefined {
  if (node === null || (isScalar(node) && (node.value === null || node.value === ''))) return undefined;
  if (isAlias(node)) return '!uses a YAML alias; write the value out';
  const scalars = isSeq(node) ? node.items : [node];
  const values: unknown[] = [];
  for (const item of scalars) {
    if (!isScalar(item)) return `!must be ${describeType(rule.type)}`;
    values.push(item.value);
  }
  if (rule.type === 'strings') {
    const list = values.flatMap((v) =>
      typeof v === 'string' || typeof v === 'number'
        ? String(v)
            .split(',')
            .map((s) => s.trim())
        : [undefined],
    );
    if (list.some((v) => v === undefined)) return '!must be a list of strings';
    const strings = (list as string[]).filter((v) => v !== '');
    const bad = rule.values ? strings.find((v) => !rule.values?.includes(v.toLowerCase())) : undefined;
    if (bad !== undefined) return `!has a value Trivy does not take; allowed: ${rule.values?.join(', ')}`;
    return rule.values ? strings.map((v) => v.toLowerCase()) : strings;
  }
  if (isSeq(node) || values.length !== 1) return `!must be ${describeType(rule.type)}`;
  const [v] = values;
  if (rule.type === 'boolean') return typeof v === 'boolean' ? v : `!must be ${describeType(rule.type)}`;
  if (rule.type === 'number') return typeof v === 'number' ? v : `!must be ${describeType(rule.type)}`;
  if (typeof v !== 'string') return `!must be ${describeType(rule.type)}`;
  if (rule.values && !rule.values.includes(v))
    return `!is not one Trivy takes; allowed: ${rule.values.join(', ')}`;
  return v;
}

function describeType(type: ValueType): string {
  return { string: 'text', strings: 'a list of strings', boolean: 'true or false', number: 'a number' }[type];
}

/** Everything the action tells Trivy besides its own fixed flags: what the scans receive and the reuse key hashes. */
export interface TrivySettings {
  /** The accepted part of `trivy-config`, as a trivy.yaml for the private directory; '' when there is none. */
  configYaml: string;
  /** Its keys, for the summary (names only: the values may come from a pull request). */
  configKeys: string[];
  /** The `ignore-policy` Rego, read once from the workspace; Trivy gets a private copy of exactly this text. */
  ignorePolicy?: { shown: string; text: string };
  /** `secret.config` of `trivy-config` (Trivy's secret rules), read once; Trivy gets a private trivy-secret.yaml. */
  secretConfig?: { shown: string; text: string };
  skipFiles: string[];
  skipDirs: string[];
  detectionPriority?: DetectionPriority;
  vulnSeveritySource: string[];
  /** A hash of all of the above, for the result-reuse key; undefined when nothing is set (keys stay as they were). */
  fingerprint?: string;
}

export type TrivySettingsInputs = Pick<
  TrivyConfig,
  'configFile' | 'ignorePolicy' | 'skipFiles' | 'skipDirs' | 'detectionPriority' | 'vulnSeveritySource'
>;

/**
 * Reads `trivy-config` and `ignore-policy` from the workspace (confined, size-capped: they are repository content)
 * and checks them, before any download or scan.
 */
export async function loadTrivySettings(
  inputs: TrivySettingsInputs,
  workspace: string,
): Promise<TrivySettings> {
  let entries: TrivyConfigEntries = {};
  let secretConfig: TrivySettings['secretConfig'];
  if (inputs.configFile) {
    const text = await readRequiredFile(workspace, inputs.configFile, 'trivy-config');
    entries = parseTrivyConfigFile(text, inputs.configFile);
    const secretPath = entries[SECRET_CONFIG_KEY];
    if (typeof secretPath === 'string') {
      // Relative to the repository root: Trivy would resolve it against its working directory, which is private.
      const secretText = await readRequiredFile(workspace, secretPath, 'trivy-config', SECRET_CONFIG_KEY);
      secretConfig = { shown: secretPath, text: secretText };
    }
  }
  let ignorePolicy: TrivySettings['ignorePolicy'];
  if (inputs.ignorePolicy) {
    const text = await readRequiredFile(workspace, inputs.ignorePolicy, 'ignore-policy');
    checkIgnorePolicy(text, inputs.ignorePolicy);
    ignorePolicy = { shown: inputs.ignorePolicy, text };
  }
  return buildTrivySettings(entries, { ignorePolicy, secretConfig }, inputs);
}

export function buildTrivySettings(
  entries: TrivyConfigEntries,
  files: Pick<TrivySettings, 'ignorePolicy' | 'secretConfig'>,
  inputs: Omit<TrivySettingsInputs, 'configFile' | 'ignorePolicy'>,
): TrivySettings {
  const { ignorePolicy, secretConfig } = files;
  const configKeys = Object.keys(entries).sort();
  const nested: Record<string, unknown> = {};
  // `secret.config` is not written: its private copy sits where Trivy looks by default (trivy-secret.yaml in its
  // cwd).
  for (const key of configKeys.filter((k) => k !== SECRET_CONFIG_KEY)) {
    const parts = key.split('.');
    let node = nested;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = entries[key];
  }
  const settings: TrivySettings = {
    configYaml: Object.keys(nested).length ? stringify(nested) : '',
    configKeys,
    ...(ignorePolicy && { ignorePolicy }),
    ...(secretConfig && { secretConfig }),
    skipFiles: inputs.skipFiles,
    skipDirs: inputs.skipDirs,
    ...(inputs.detectionPriority && { detectionPriority: inputs.detectionPriority }),
    vulnSeveritySource: inputs.vulnSeveritySource,
  };
  const hashOf = (text: string) => createHash('sha256').update(text).digest('hex');
  const identity = {
    config: configKeys.map((k) => [k, entries[k]]),
    ignorePolicy: ignorePolicy ? hashOf(ignorePolicy.text) : null,
    // The rules themselves, not the path: editing the file changes what Trivy finds.
    ...(secretConfig && { secretConfig: hashOf(secretConfig.text) }),
    skipFiles: settings.skipFiles,
    skipDirs: settings.skipDirs,
    detectionPriority: settings.detectionPriority ?? null,
    vulnSeveritySource: settings.vulnSeveritySource,
  };
  const empty =
    configKeys.length === 0 &&
    !ignorePolicy &&
    !settings.skipFiles.length &&
    !settings.skipDirs.length &&
    !settings.detectionPriority &&
    !settings.vulnSeveritySource.length;
  if (!empty) settings.fingerprint = hashOf(JSON.stringify(identity));
  return settings;
}

/** One line for the summary: which Trivy settings the scans ran with (names only). */
export function describeTrivySettings(
  s: TrivySettings,
  inputs: Pick<TrivyConfig, 'configFile'>,
): string | undefined {
  const parts: string[] = [];
  if (s.configKeys.length) parts.push(`${inputs.configFile ?? 'trivy-config'}: ${s.configKeys.join(', ')}`);
  if (s.skipFiles.length) parts.push('skip-files');
  if (s.skipDirs.length) parts.push('skip-dirs');
  if (s.detectionPriority) parts.push(`detection-priority ${s.detectionPriority}`);
  if (s.vulnSeveritySource.length) parts.push(`vuln-severity-source ${s.vulnSeveritySource.join(',')}`);
  if (s.ignorePolicy)
    parts.push(`ignore-policy ${s.ignorePolicy.shown} (findings it drops are not reported)`);
  return parts.length ? `Trivy settings: ${parts.join('; ')}.` : undefined;
}

async function readRequiredFile(
  workspace: string,
  file: string,
  input: string,
  key?: string,
): Promise<string> {
  const found = await locateRepositoryFile(workspace, file, input);
  if (!found) {
    const named = key ? ` (its \`${key}\`)` : '';
    throw new ConfigurationError(
      `\`${input}\`${named}: ${quotePath(file)} does not exist; give a path relative to the repository root.`,
      input,
    );
  }
  return readRepositoryFile(found, input);
}

/** Trivy evaluates `data.trivy.ignore` from the ignore policy: a file without `package trivy` ignores nothing. */
function checkIgnorePolicy(text: string, file: string): void {
  if (!/^\s*package\s+trivy\s*$/m.test(text)) {
    throw new ConfigurationError(
      `\`ignore-policy\`: ${quotePath(file)} has no \`package trivy\` line; Trivy evaluates the rule ` +
        '`ignore` in package trivy (see Trivy\'s "Filtering by Open Policy Agent" docs).',
      'ignore-policy',
    );
  }
}
