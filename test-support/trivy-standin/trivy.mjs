#!/usr/bin/env node
// @ts-check
// A stand-in for Trivy, for tests only (TESTING.md §1): Trivy's releases and DB cannot be downloaded here.
// It behaves like Trivy at the edges the action touches and is honest about them:
// - argv is parsed strictly against Trivy's real flag set (../../shared/trivy/cli/*.md); unknown flags are refused;
// - `--download-db-only` / `--download-java-db-only` write the real cache layout; `--skip-db-update` on an empty
//   cache is an error;
// - the fs scan cache takes an exclusive lock, so two scans sharing one --cache-dir conflict as with Trivy >= 0.66;
// - `image REF` really talks to the registry: scheme fallback, challenge-driven auth with the credentials Trivy
//   would use (TRIVY_USERNAME/TRIVY_PASSWORD, TRIVY_REGISTRY_TOKEN, $DOCKER_CONFIG/config.json), manifest (index ->
//   platform), config blob. Registry errors are reported with the registry's own status and text.
// Only the findings are canned: they come from a template report chosen by the image's `standin.report` label.
// - like Trivy, it reads its config file (`--config`, default `trivy.yaml` in its working directory; a missing default
//   is fine, a missing explicit one is fatal) and its ignore file (`--ignorefile`, default `.trivyignore` in its
//   working directory), and every flag also reads TRIVY_<FLAG>; precedence: flags, then env, then the config file.
// Settings for tests: STANDIN_TRIVY_VERSION, STANDIN_SCAN_DELAY_MS, STANDIN_LOG (one JSON line per invocation),
// STANDIN_DB_DENY (comma list of DB repositories that answer TOOMANYREQUESTS, to exercise the fallback). They are
// read from the environment, else from $HOME/.trivy-standin.json (the action gives Trivy an allow-listed
// environment, so runAction writes the run's STANDIN_* settings there).

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

/**
 * @typedef {{ value: string[]; bool: string[]; short: Record<string, string> }} FlagSpec
 * @typedef {string | boolean | string[]} FlagValue
 * @typedef {Map<string, FlagValue>} Flags
 * @typedef {{ flags: Flags; positionals: string[]; set: (name: string, v: string) => void; known: Set<string> }} ParsedArgs
 * @typedef {string | boolean | unknown[] | YamlMap | null} YamlValue (lists are unknown[]: a JSDoc typedef cannot
 *   refer to itself through an array)
 * @typedef {{ [key: string]: YamlValue }} YamlMap
 * @typedef {{ name: string; host: string; apiHost: string; repository: string; tag: string | undefined;
 *   digest: string | undefined; reference: string }} ImageRef
 * @typedef {{ method?: string; headers?: Record<string, string>; insecure?: boolean; signal?: AbortSignal }} RequestOptions
 * @typedef {{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; url: string }} HttpResponse
 * @typedef {{ usernames: string[]; passwords: string[]; registryToken: string | undefined; insecure: boolean;
 *   platform: string | undefined; signal: AbortSignal }} FetchOptions
 * @typedef {{ kind: 'bearer' | 'refresh'; token: string; source: string }
 *   | { kind: 'basic'; username: string; password: string; source: string }
 *   | { kind: 'anonymous'; source: string }} Authenticator
 * @typedef {{ size: number; digest: string; diffId?: string }} ImageLayer
 * @typedef {{ digest: string; platform?: { os?: string; architecture?: string; variant?: string } }} IndexEntry
 * @typedef {{ archive?: boolean; repoTags?: string[] | null; digest?: string; manifest: { layers?: ImageLayer[] };
 *   configDigest: string; config: ImageConfig }} ScannedImage
 * @typedef {{ config?: { Labels?: Record<string, string> }; rootfs?: { diff_ids?: string[] } }} ImageConfig
 * @typedef {{ file: string; ignores: (finding: Record<string, unknown>) => boolean }} IgnorePolicy
 * @typedef {{ severities: string[]; scanners: string[]; pkgTypes: string[]; listAllPkgs: boolean;
 *   ignoreUnfixed: boolean; ignoredIds: Set<string>; skipFiles: string[]; skipDirs: string[];
 *   ignorePolicy: IgnorePolicy | undefined; disabledSecretRules: Set<string> }} ReportOptions
 * @typedef {{ Version: number; NextUpdate: string; UpdatedAt: string; DownloadedAt: string }} DbMetadata
 * @typedef {{ VulnerabilityID: string; Severity: string; FixedVersion?: string; Layer?: object; [field: string]: unknown }} Vulnerability
 * @typedef {{ RuleID: string; Severity: string; [field: string]: unknown }} Secret
 * @typedef {{ Target: string; Class?: string; Packages?: unknown[]; Vulnerabilities?: Vulnerability[]; Secrets?: Secret[];
 *   [field: string]: unknown }} ReportResult
 * @typedef {{ Metadata?: { OS?: unknown }; Results?: ReportResult[] }} TemplateReport
 * @typedef {{ argv: string[]; pid: number; start: number; configFile?: string; ignoreFile?: string;
 *   secretConfig?: string; dbRepositories?: string[]; settings?: object; image?: string; input?: string;
 *   vex?: string[]; command?: string }} Invocation
 */

/** @type {Record<string, TemplateReport> | null} */
const EMBEDDED_REPORTS = null; // replaced by the release mirror when it packs the stand-in into an archive

/** @type {Record<string, string | undefined>} */
const SETTINGS = (() => {
  /** @type {Record<string, string | undefined>} */
  let file = {};
  try {
    file = JSON.parse(fs.readFileSync(path.join(os.homedir(), '.trivy-standin.json'), 'utf8'));
  } catch {
    // no settings file: environment only
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('STANDIN_')));
  return { ...file, ...env };
})();

const VERSION = SETTINGS.STANDIN_TRIVY_VERSION || '0.74.0';
const startedAt = Date.now();
/** @type {Invocation} */
const invocation = { argv: process.argv.slice(2), pid: process.pid, start: startedAt };
/** @type {string | undefined} */
let heldLock;
let quiet = false;

// ---- flag sets, from Trivy's CLI reference -------------------------------------------------------------------

/** @type {FlagSpec} */
const GLOBAL = {
  value: ['cacert', 'cache-dir', 'config', 'timeout'],
  bool: ['debug', 'generate-default-config', 'insecure', 'quiet', 'version', 'help'],
  short: { c: 'config', d: 'debug', q: 'quiet', v: 'version', h: 'help' },
};
/** @type {FlagSpec} */
const ROOT = { value: ['format'], bool: [], short: { f: 'format' } };
/** @type {FlagSpec} */
const VERSION_CMD = { value: ['format'], bool: [], short: { f: 'format' } };
/** @type {FlagSpec} */
const IMAGE = {
  value: (
    'ansible-extra-vars ansible-inventory ansible-playbook cache-backend cache-ttl check-namespaces ' +
    'checks-bundle-repository compliance config-check config-data config-file-schemas custom-headers db-repository ' +
    'detection-priority distro docker-host enable-modules exit-code exit-on-eol file-patterns format ' +
    'helm-api-versions helm-kube-version helm-set helm-set-file helm-set-string helm-values ignore-policy ' +
    'ignore-status ignored-licenses ignorefile image-config-scanners image-src input java-db-repository ' +
    'license-confidence-level max-image-size misconfig-scanners module-dir output output-plugin-arg parallel ' +
    'password pkg-relationships pkg-types platform podman-host raw-config-scanners redis-ca redis-cert redis-key ' +
    'registry-token rego-error-limit rekor-url render-cause report sbom-sources scanners secret-config server ' +
    'severity skip-dirs skip-files table-mode template token token-header username vex vuln-severity-source'
  ).split(' '),
  bool: (
    'dependency-tree disable-telemetry download-db-only download-java-db-only ignore-unfixed ' +
    'include-deprecated-checks include-non-failures license-full list-all-pkgs no-progress offline-scan ' +
    'password-stdin redis-tls removed-pkgs show-suppressed skip-check-update skip-db-update skip-java-db-update ' +
    'skip-version-check skip-vex-repo-update tf-exclude-downloaded-modules trace-rego'
  ).split(' '),
  short: { f: 'format', o: 'output', s: 'severity', t: 'template' },
};
/** @type {Record<string, FlagSpec | undefined>} */
const COMMANDS = {
  image: IMAGE,
  i: IMAGE,
  version: VERSION_CMD,
};
// Trivy's other commands exist; the stand-in does not implement them and says so.
const OTHER_COMMANDS = new Set(
  'clean config convert filesystem fs kubernetes k8s module plugin registry repository repo rootfs sbom server s vex vm'.split(
    ' ',
  ),
);
const LIST_FLAGS = new Set([
  'db-repository',
  'java-db-repository',
  'scanners',
  'pkg-types',
  'severity',
  'username',
  'password',
  'image-src',
  'skip-files',
  'skip-dirs',
  'vuln-severity-source',
  'vex',
]);

const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const DETECTION_PRIORITIES = ['precise', 'comprehensive'];
// --vuln-severity-source's allowed values (cli/trivy_image.md).
const SEVERITY_SOURCES = (
  'nvd redhat redhat-oval debian ubuntu alpine amazon oracle-oval suse-cvrf photon arch-linux alma rocky ' +
  'cbl-mariner azure ruby-advisory-db php-security-advisories nodejs-security-wg ghsa glad aqua osv k8s wolfi ' +
  'chainguard bitnami govulndb julia bottlerocket echo minimos rootio rapidfort auto'
).split(' ');
const SCANNERS = ['vuln', 'misconfig', 'secret', 'license'];
const PKG_TYPES = ['os', 'library'];
const FORMATS = [
  'table',
  'json',
  'template',
  'sarif',
  'cyclonedx',
  'spdx',
  'spdx-json',
  'github',
  'cosign-vuln',
];
const DEFAULT_DB_REPOS = ['mirror.gcr.io/aquasec/trivy-db:2', 'ghcr.io/aquasecurity/trivy-db:2'];
const DEFAULT_JAVA_DB_REPOS = [
  'mirror.gcr.io/aquasec/trivy-java-db:1',
  'ghcr.io/aquasecurity/trivy-java-db:1',
];
const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

// ---- logging, exit -------------------------------------------------------------------------------------------

function stamp() {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
/** @param {string} message */
function logInfo(message) {
  if (!quiet) process.stderr.write(`${stamp()}\tINFO\t${message}\n`);
}
/** @param {string} message */
function logWarn(message) {
  if (!quiet) process.stderr.write(`${stamp()}\tWARN\t${message}\n`);
}
/**
 * Trivy's main: log.Fatal("Fatal error", err) -> exit 1. Fatal lines are printed even with --quiet.
 * @param {string} message
 * @returns {never}
 */
function fatal(message) {
  process.stderr.write(`${stamp()}\tFATAL\tFatal error\t${message}\n`);
  process.exit(1);
}

process.on('exit', (code) => {
  if (heldLock) {
    try {
      fs.unlinkSync(heldLock);
    } catch {
      // already gone
    }
  }
  if (SETTINGS.STANDIN_LOG) {
    const credentialEnv = [
      'TRIVY_USERNAME',
      'TRIVY_PASSWORD',
      'TRIVY_REGISTRY_TOKEN',
      'DOCKER_CONFIG',
    ].filter((n) => process.env[n]);
    const line = JSON.stringify({
      ...invocation,
      end: Date.now(),
      exitCode: code,
      credentialEnv,
      // The whole environment this process got (and its cwd), so tests can search a child's environment for secrets.
      env: process.env,
      cwd: process.cwd(),
      ...dockerConfigModes(),
    });
    fs.appendFileSync(SETTINGS.STANDIN_LOG, `${line}\n`);
  }
});

/**
 * For STANDIN_LOG: $DOCKER_CONFIG and the permission bits (octal) of it and its config.json as this process saw them, so
 * tests can check that credentials were private while Trivy ran (the post step removes them afterwards).
 */
function dockerConfigModes() {
  const dir = process.env.DOCKER_CONFIG;
  if (!dir) return {};
  /** @param {string} p */
  const mode = (p) => {
    try {
      return (fs.statSync(p).mode & 0o777).toString(8);
    } catch {
      return undefined;
    }
  };
  return {
    dockerConfigDir: dir,
    dockerConfigDirMode: mode(dir),
    dockerConfigMode: mode(path.join(dir, 'config.json')),
  };
}
process.on('SIGTERM', () => process.exit(143));
process.on('SIGINT', () => process.exit(130));

// ---- argv ----------------------------------------------------------------------------------------------------

/**
 * pflag semantics: --name=value, --name value, -x value, -xvalue, bool shorthands combined (-qd), `--`.
 * @param {string[]} args
 * @param {FlagSpec} spec
 * @returns {ParsedArgs}
 */
function parseArgs(args, spec) {
  const value = new Set([...GLOBAL.value, ...spec.value]);
  const bool = new Set([...GLOBAL.bool, ...spec.bool]);
  /** @type {Record<string, string | undefined>} */
  const short = { ...GLOBAL.short, ...spec.short };
  /** @type {Flags} */
  const flags = new Map();
  /** @type {string[]} */
  const positionals = [];
  /** @type {(name: string, v: string) => void} */
  const set = (name, v) => {
    if (bool.has(name)) {
      const b = parseBool(v);
      if (b === undefined) {
        fatal(
          `invalid argument "${v}" for "--${name}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`,
        );
      }
      flags.set(name, b);
    } else if (LIST_FLAGS.has(name)) {
      flags.set(name, [...flagList(flags, name, []), ...splitList(v)]);
    } else {
      flags.set(name, v);
    }
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const inline = eq < 0 ? undefined : a.slice(eq + 1);
      if (bool.has(name)) set(name, inline ?? 'true');
      else if (value.has(name)) {
        if (inline !== undefined) set(name, inline);
        else if (i + 1 < args.length) set(name, args[++i]);
        else fatal(`flag needs an argument: --${name}`);
      } else fatal(`unknown flag: --${name}`);
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const name = short[c];
        if (!name) fatal(`unknown shorthand flag: '${c}' in ${a}`);
        if (bool.has(name)) {
          if (a[j + 1] === '=') {
            set(name, a.slice(j + 2));
            break;
          }
          set(name, 'true');
        } else {
          const rest = a.slice(j + 1).replace(/^=/, '');
          if (rest) set(name, rest);
          else if (i + 1 < args.length) set(name, args[++i]);
          else fatal(`flag needs an argument: '${c}' in -${c}`);
          break;
        }
      }
    } else positionals.push(a);
  }
  // Every flag also reads TRIVY_<FLAG> (viper), when not given on the command line.
  for (const name of [...value, ...bool]) {
    if (flags.has(name)) continue;
    const env = process.env[`TRIVY_${name.toUpperCase().replace(/-/g, '_')}`];
    if (env !== undefined && env !== '') set(name, env);
  }
  return { flags, positionals, set, known: new Set([...value, ...bool]) };
}

// ---- the config file (trivy.yaml) and the ignore file (.trivyignore) -----------------------------------------

/** Config keys (Trivy's trivy.yaml layout) -> the flag they set. Trivy ignores keys it does not know; so do we. */
/** @type {Record<string, string>} */
const CONFIG_KEYS = {
  severity: 'severity',
  ignorefile: 'ignorefile',
  timeout: 'timeout',
  format: 'format',
  output: 'output',
  'exit-code': 'exit-code',
  'list-all-pkgs': 'list-all-pkgs',
  quiet: 'quiet',
  insecure: 'insecure',
  'scan.scanners': 'scanners',
  'vulnerability.ignore-unfixed': 'ignore-unfixed',
  'pkg.types': 'pkg-types',
  'cache.dir': 'cache-dir',
  'cache.backend': 'cache-backend',
  'db.repository': 'db-repository',
  'db.java-repository': 'java-db-repository',
  'db.skip-update': 'skip-db-update',
  'image.platform': 'platform',
  'image.source': 'image-src',
  'scan.skip-dirs': 'skip-dirs',
  'scan.skip-files': 'skip-files',
  'scan.detection-priority': 'detection-priority',
  'vulnerability.severity-source': 'vuln-severity-source',
  'ignore-policy': 'ignore-policy',
};

/**
 * Trivy's config file, applied to flags neither the command line nor TRIVY_* set. `--config` (or TRIVY_CONFIG)
 * given and missing is fatal; the default `trivy.yaml` in the working directory missing is not.
 * @param {ParsedArgs} parsed
 */
function applyConfigFile(parsed) {
  const explicit = parsed.flags.has('config');
  const file = flagString(parsed.flags, 'config') ?? 'trivy.yaml';
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (errorCode(e) === 'ENOENT' && !explicit) return;
    if (errorCode(e) === 'ENOENT') fatal(`config file "${file}" not found`);
    fatal(`config file "${file}" loading error: ${errorMessage(e)}`);
  }
  let config;
  try {
    config = parseYaml(text);
  } catch (e) {
    fatal(`config file "${file}" loading error: ${errorMessage(e)}`);
  }
  invocation.configFile = path.resolve(file);
  for (const [key, flag] of Object.entries(CONFIG_KEYS)) {
    if (!parsed.known.has(flag) || parsed.flags.has(flag)) continue;
    const value = key.split('.').reduce(
      /** @type {(node: YamlValue | undefined, k: string) => YamlValue | undefined} */
      (node, k) => (node && typeof node === 'object' && !Array.isArray(node) ? node[k] : undefined),
      config,
    );
    if (value === undefined || value === null || value === '') continue;
    // A mapping where a scalar or list belongs: the stand-in cannot say what Trivy's viper would make of it.
    if (typeof value === 'object' && !Array.isArray(value))
      fatal(
        `config file "${file}": the Trivy stand-in reads only a scalar or a list at "${key}", not a mapping`,
      );
    parsed.set(flag, Array.isArray(value) ? value.join(',') : String(value));
  }
}

/**
 * The YAML a trivy.yaml needs: nested mappings by indentation, `- item` and `[a, b]` lists, scalars, comments.
 * @param {string} text
 * @returns {YamlValue}
 */
function parseYaml(text) {
  const lines = text
    .split(/\r?\n/)
    .map((raw, i) => ({ raw: raw.replace(/(^|\s)#.*$/, ''), n: i + 1 }))
    .filter((l) => l.raw.trim() !== '');
  let i = 0;
  /** @param {{ raw: string }} l */
  const indent = (l) => l.raw.length - l.raw.trimStart().length;
  /** @type {(v: string) => YamlValue} */
  const scalar = (v) => {
    const t = v.trim();
    if (/^\[.*\]$/.test(t))
      return t
        .slice(1, -1)
        .split(',')
        .map(scalar)
        .filter((x) => x !== '');
    if (/^(['"]).*\1$/.test(t)) return t.slice(1, -1);
    if (t === 'true' || t === 'false') return t === 'true';
    return t;
  };
  /**
   * @param {number} level
   * @returns {YamlValue}
   */
  function block(level) {
    const first = lines[i];
    if (first.raw.trimStart().startsWith('- ') || first.raw.trim() === '-') {
      /** @type {YamlValue[]} */
      const list = [];
      while (i < lines.length && indent(lines[i]) === level && lines[i].raw.trimStart().startsWith('-')) {
        list.push(scalar(lines[i].raw.trimStart().slice(1)));
        i++;
      }
      return list;
    }
    /** @type {YamlMap} */
    const map = {};
    while (i < lines.length && indent(lines[i]) === level) {
      const { raw, n } = lines[i];
      const m = /^\s*([^:]+?):(?:\s+(.*))?$/.exec(raw);
      if (!m) throw new Error(`yaml: line ${n}: could not find expected ':'`);
      i++;
      if (m[2] !== undefined && m[2].trim() !== '') map[m[1]] = scalar(m[2]);
      else if (i < lines.length && indent(lines[i]) > level) map[m[1]] = block(indent(lines[i]));
      else if (i < lines.length && indent(lines[i]) === level && lines[i].raw.trimStart().startsWith('-'))
        map[m[1]] = block(level);
      else map[m[1]] = null;
    }
    if (i < lines.length && indent(lines[i]) > level)
      throw new Error(`yaml: line ${lines[i].n}: mapping values are not allowed in this context`);
    return map;
  }
  return lines.length ? block(indent(lines[0])) : {};
}

/**
 * Trivy's plain ignore file (pkg/result/ignore.go): one ID per line, `#` comments, `exp:YYYY-MM-DD` after the ID.
 * A missing file (default or given) ignores nothing.
 * @param {string} file
 * @returns {Set<string>}
 */
function readIgnoreFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return new Set();
  }
  if (/\.ya?ml$/.test(file)) fatal(`the Trivy stand-in reads only plain ignore files, not ${file}`);
  invocation.ignoreFile = path.resolve(file);
  const ids = new Set();
  for (const line of text.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) continue;
    const exp = fields.slice(1).find((f) => f.startsWith('exp:'));
    if (exp && Date.parse(exp.slice(4)) < Date.now()) continue;
    ids.add(fields[0]);
  }
  return ids;
}

/**
 * Trivy's --skip-files / --skip-dirs: glob patterns (`**` crosses directories) matched against paths inside the image,
 * both without a leading slash. Only results that name a file (lang-pkgs, secrets) have a path; OS packages do not.
 * @param {string} target
 * @param {string[]} skipFiles
 * @param {string[]} skipDirs
 */
function isSkippedPath(target, skipFiles, skipDirs) {
  const file = String(target).replace(/^\/+/, '');
  if (!/\//.test(file) && !file.startsWith('.')) return false; // "Node.js", "image (debian 12.7)": not a path
  if (skipFiles.some((p) => globMatch(p, file))) return true;
  const parts = file.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (skipDirs.some((p) => globMatch(p, dir))) return true;
  }
  return false;
}

/**
 * @param {string} pattern
 * @param {string} file
 */
function globMatch(pattern, file) {
  const p = String(pattern).replace(/^\/+/, '').replace(/\/+$/, '');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') {
        re += '(?:.*/)?';
        i++;
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(file);
}

/**
 * Trivy's --ignore-policy: the file is read when the scan starts (a missing one is fatal) and its `ignore` rule is
 * evaluated per finding. The stand-in is no Rego engine: it evaluates only rules whose body is a conjunction of
 * `input.Field == "value"` lines, and refuses any other policy rather than pretend to apply it.
 * @param {string} file
 * @returns {IgnorePolicy}
 */
function loadIgnorePolicy(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    fatal(
      `run error: filter error: unable to read the policy file: open ${file}: ${errorCode(e) === 'ENOENT' ? 'no such file or directory' : errorMessage(e)}`,
    );
  }
  /** @type {[string, string][][]} */
  const rules = [];
  const body = text.replace(/#.*$/gm, '');
  if (!/^\s*package\s+trivy\s*$/m.test(body)) return { file: path.resolve(file), ignores: () => false };
  const blocks = body.matchAll(/^\s*ignore\s+(?:if\s+)?\{([^}]*)\}/gm);
  for (const [, block] of blocks) {
    /** @type {[string, string][]} */
    const conditions = [];
    for (const line of block
      .split(/\n|;/)
      .map((l) => l.trim())
      .filter(Boolean)) {
      const m = /^input\.([A-Za-z]+)\s*==\s*"([^"]*)"$/.exec(line);
      if (!m)
        fatal(`the Trivy stand-in evaluates only ignore rules of input.Field == "value" lines, not: ${line}`);
      conditions.push([m[1], m[2]]);
    }
    rules.push(conditions);
  }
  return {
    file: path.resolve(file),
    ignores: (finding) =>
      rules.some((conds) => conds.every(([field, value]) => String(finding[field]) === value)),
  };
}

/**
 * Trivy's secret config (`--secret-config`, default `trivy-secret.yaml` in the working directory; missing is fine and
 * means the built-in rules). The stand-in honours its `disable-rules` list of rule IDs.
 * @param {string | undefined} given
 * @returns {Set<string>}
 */
function readSecretConfig(given) {
  const file = given ?? 'trivy-secret.yaml';
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return new Set();
  }
  invocation.secretConfig = path.resolve(file);
  let config;
  try {
    config = parseYaml(text);
  } catch (e) {
    fatal(`run error: secret config error: ${errorMessage(e)}`);
  }
  const disabled =
    config && typeof config === 'object' && !Array.isArray(config) ? config['disable-rules'] : undefined;
  return new Set(Array.isArray(disabled) ? disabled.map(String) : []);
}

/**
 * @param {string} v
 * @returns {boolean | undefined}
 */
function parseBool(v) {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return undefined;
}

/** @param {string} v */
function splitList(v) {
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * @param {Flags} flags
 * @param {string} name
 * @returns {string | undefined} a value flag's value
 */
function flagString(flags, name) {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/**
 * @param {Flags} flags
 * @param {string} name
 * @returns {boolean | undefined} a bool flag's value
 */
function flagBool(flags, name) {
  const v = flags.get(name);
  return typeof v === 'boolean' ? v : undefined;
}

/**
 * @param {Flags} flags
 * @param {string} name
 * @param {string[]} fallback
 * @returns {string[]} a list flag's values, or the fallback when it was not given
 */
function flagList(flags, name, fallback) {
  const v = flags.get(name);
  return Array.isArray(v) ? v : fallback;
}

/** @param {unknown} e */
function errorMessage(e) {
  return e instanceof Error ? e.message : String(e);
}

/**
 * @param {unknown} e
 * @returns {string | undefined} the `code` of a Node system error, if it is one
 */
function errorCode(e) {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/**
 * Go's time.ParseDuration, in milliseconds.
 * @param {string} s
 * @returns {number | undefined}
 */
function parseGoDuration(s) {
  if (s === '0') return 0;
  /** @type {Record<string, number>} */
  const units = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  return s.length ? total : undefined;
}

/**
 * Splits off the command: the first positional not consumed as a flag value.
 * @param {string[]} argv
 * @returns {{ name: string | undefined; rest: string[] }}
 */
function findCommand(argv) {
  const valueFlags = new Set([...GLOBAL.value, ...ROOT.value].map((n) => `--${n}`));
  const valueShorts = new Set(['-c', '-f']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return { name: undefined, rest: argv };
    if (a.startsWith('-')) {
      if ((valueFlags.has(a) || valueShorts.has(a)) && !a.includes('=')) i++;
      continue;
    }
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: argv };
}

// ---- cache dir, DB -------------------------------------------------------------------------------------------

function defaultCacheDir() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'trivy');
}

/**
 * @param {string} file
 * @returns {any} parsed JSON, or undefined when unreadable
 */
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * @param {string} cacheDir
 * @param {'db' | 'java-db'} kind
 * @param {string[]} repositories
 */
function downloadDb(cacheDir, kind, repositories) {
  const java = kind === 'java-db';
  const denied = new Set(splitList(SETTINGS.STANDIN_DB_DENY ?? ''));
  const label = java ? 'javadb' : 'vulndb';
  logInfo(`[${label}] ${java ? 'Downloading Java DB...' : 'Need to update DB'}`);
  let used;
  for (const repo of repositories) {
    if (denied.has(repo)) {
      logWarn(
        `[${label}] Failed to download artifact	repo="${repo}" err="GET https://${repo.split('/')[0]}/: TOOMANYREQUESTS: rate limited"`,
      );
      continue;
    }
    used = repo;
    break;
  }
  if (!used) {
    fatal(
      `run error: init error: DB error: failed to download ${java ? 'Java' : 'vulnerability'} DB: OCI artifact error: failed to download artifact from any source`,
    );
  }
  logInfo(`[${label}] Downloading artifact...\trepo="${used}"`);
  const now = new Date();
  const updated = new Date(now);
  updated.setUTCMinutes(0, 0, 0);
  const next = new Date(updated.getTime() + (java ? 3 * 24 : 6) * 3_600_000);
  /** @param {Date} d */
  const iso = (d) => d.toISOString().replace(/\.\d+Z$/, 'Z');
  const dir = path.join(cacheDir, kind);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'metadata.json'),
    JSON.stringify({
      Version: java ? 1 : 2,
      NextUpdate: iso(next),
      UpdatedAt: iso(updated),
      DownloadedAt: now.toISOString(),
    }),
  );
  fs.writeFileSync(
    path.join(dir, java ? 'trivy-java.db' : 'trivy.db'),
    `trivy stand-in ${kind} from ${used}\n`,
  );
  (invocation.dbRepositories ??= []).push(used);
  logInfo(`[${label}] Artifact successfully downloaded\trepo="${used}"`);
}

/** @param {string} cacheDir */
function dbNeedsUpdate(cacheDir) {
  /** @type {DbMetadata | undefined} */
  const meta = readJson(path.join(cacheDir, 'db', 'metadata.json'));
  return !meta || Date.parse(meta.NextUpdate) <= Date.now();
}

// ---- the fs scan cache lock (BoltDB flock with a 5 s timeout) -------------------------------------------------

/** @param {string} cacheDir */
async function lockFsCache(cacheDir) {
  const dir = path.join(cacheDir, 'fanal');
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'fanal.db.lock');
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      heldLock = lock;
      fs.closeSync(fs.openSync(path.join(dir, 'fanal.db'), 'a'));
      return;
    } catch (e) {
      if (errorCode(e) !== 'EEXIST') throw e;
    }
    // A flock dies with its process; emulate that for a holder killed with SIGKILL.
    const holder = Number(fs.readFileSync(lock, 'utf8') || 0);
    if (holder && !alive(holder)) {
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      fatal(
        'run error: init error: unable to initialize fs cache: unable to open cache DB: cache may be in use by another process: timeout',
      );
    }
    await sleep(100);
  }
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) === 'EPERM';
  }
}

/**
 * @param {number} ms
 * @returns {Promise<void>}
 */
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- image references ----------------------------------------------------------------------------------------

/**
 * @param {string} ref
 * @returns {ImageRef | undefined}
 */
function parseReference(ref) {
  let rest = ref;
  let digest;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const name = rest;
  const parts = rest.split('/');
  let host = 'docker.io';
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    host = parts.shift() ?? host;
  }
  let repository = parts.join('/');
  if (host === 'docker.io' && parts.length === 1) repository = `library/${repository}`;
  if (
    !repository ||
    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)
  ) {
    return undefined;
  }
  // `name@` has an empty digest: invalid, as in go-containerregistry (an empty tag means latest).
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined;
  if (!digest && !tag) tag = 'latest';
  const apiHost = host === 'docker.io' ? 'registry-1.docker.io' : host;
  return { name, host, apiHost, repository, tag, digest, reference: digest ?? tag ?? 'latest' };
}

// ---- a small registry client ---------------------------------------------------------------------------------

/**
 * @param {string} url
 * @param {RequestOptions} options
 * @param {number} hops
 * @returns {Promise<HttpResponse>}
 */
function request(url, { method = 'GET', headers = {}, insecure = false, signal } = {}, hops = 0) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      {
        method,
        headers: { 'user-agent': `trivy/${VERSION}`, ...headers },
        rejectUnauthorized: !insecure,
        signal,
      },
      (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        res.on('data', (/** @type {Buffer} */ c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const location = res.headers.location;
          const status = res.statusCode ?? 0; // always set on a client response
          if ([301, 302, 303, 307, 308].includes(status) && location && hops < 5) {
            const next = new URL(location, url);
            const h = { ...headers };
            if (next.host !== u.host) delete h.Authorization;
            resolve(request(next.toString(), { method, headers: h, insecure, signal }, hops + 1));
            return;
          }
          resolve({ status, headers: res.headers, body: Buffer.concat(chunks), url });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Go's %v of decoded JSON, as go-containerregistry prints error details.
 * @param {unknown} v
 * @returns {string}
 */
function goFormat(v) {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (typeof v === 'object') {
    const map = /** @type {Record<string, unknown>} */ (v);
    return `map[${Object.keys(map)
      .sort()
      .map((k) => `${k}:${goFormat(map[k])}`)
      .join(' ')}]`;
  }
  const scalar = /** @type {string | number | boolean} */ (v); // what JSON decodes to besides null, lists, maps
  return String(scalar);
}

/**
 * go-containerregistry's transport.Error text: "GET url: CODE: message; detail" or the raw status and body.
 * @param {string} method
 * @param {string} url
 * @param {HttpResponse} res
 */
function registryErrorText(method, url, res) {
  try {
    /** @type {{ errors?: unknown }} */
    const parsed = JSON.parse(res.body.toString('utf8'));
    if (Array.isArray(parsed.errors) && parsed.errors.length) {
      const parts = parsed.errors.map(
        (/** @type {{ code?: unknown; message?: unknown; detail?: unknown }} */ e) => {
          const detail = e.detail === undefined ? '' : `; ${goFormat(e.detail)}`;
          return `${String(e.code)}: ${String(e.message)}${detail}`;
        },
      );
      return `${method} ${url}: ${parts.join('; ')}`;
    }
  } catch {
    // not the distribution error shape
  }
  const text = res.body.toString('utf8').trim();
  return `${method} ${url}: unexpected status code ${res.status} ${http.STATUS_CODES[res.status] ?? ''}${text ? `: ${text}` : ''}`;
}

/**
 * @param {string | undefined} header
 * @returns {{ scheme: string; params: Record<string, string | undefined> } | undefined}
 */
function parseChallenge(header) {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  /** @type {Record<string, string | undefined>} */
  const params = {};
  for (const p of m[2].matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g))
    params[p[1].toLowerCase()] = p[2] ?? p[3];
  return { scheme: m[1].toLowerCase(), params };
}

/** @param {string} host */
function isLocalHost(host) {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1' || h.endsWith('.local');
}

/**
 * @param {string} method
 * @param {string} url
 * @param {unknown} e
 */
function goNetError(method, url, e) {
  const code = errorCode(e);
  return `${method} ${url}: ${code ? `${code}: ` : ''}${errorMessage(e)}`;
}

/**
 * go-containerregistry pings https first; for local hosts (or --insecure) it falls back to http.
 * @param {ImageRef} ref
 * @param {FetchOptions} opts
 */
async function pickBaseUrl(ref, opts) {
  const candidates = [`https://${ref.apiHost}`];
  if (isLocalHost(ref.apiHost) || opts.insecure) candidates.push(`http://${ref.apiHost}`);
  let lastError;
  for (const base of candidates) {
    try {
      await request(`${base}/v2/`, { insecure: opts.insecure, signal: opts.signal });
      return base;
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      lastError = goNetError('GET', `${base}/v2/`, e);
    }
  }
  throw new Error(lastError);
}

/**
 * The authenticators Trivy tries, in its order (pkg/remote authOptions).
 * @param {ImageRef} ref
 * @param {FetchOptions} opts
 * @returns {Authenticator[]}
 */
function authenticators(ref, opts) {
  if (opts.registryToken) return [{ kind: 'bearer', token: opts.registryToken, source: 'registry-token' }];
  const users = opts.usernames;
  const passwords = opts.passwords;
  if (users.length !== passwords.length) fatal('run error: the number of usernames and passwords must match');
  /** @type {Authenticator[]} */
  const list = users.map((u, i) => ({
    kind: /** @type {const} */ ('basic'),
    username: u,
    password: passwords[i],
    source: 'username',
  }));
  list.push(dockerConfigAuth(ref.host));
  return list;
}

/**
 * @param {string} host
 * @returns {Authenticator}
 */
function dockerConfigAuth(host) {
  const dir = process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
  const config = readJson(path.join(dir, 'config.json'));
  /** @type {Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string } | undefined>} */
  const auths = config?.auths ?? {};
  const keys =
    host === 'docker.io'
      ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
      : [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];
  for (const k of keys) {
    const a = auths[k];
    if (!a) continue;
    if (a.registrytoken) return { kind: 'bearer', token: a.registrytoken, source: 'docker-config' };
    if (a.identitytoken) return { kind: 'refresh', token: a.identitytoken, source: 'docker-config' };
    if (a.auth) {
      const decoded = Buffer.from(a.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      return {
        kind: 'basic',
        username: decoded.slice(0, i),
        password: decoded.slice(i + 1),
        source: 'docker-config',
      };
    }
    if (a.username)
      return { kind: 'basic', username: a.username, password: a.password ?? '', source: 'docker-config' };
  }
  return { kind: 'anonymous', source: 'anonymous' };
}

class RegistrySession {
  /**
   * @param {string} base
   * @param {ImageRef} ref
   * @param {Authenticator} auth
   * @param {FetchOptions} opts
   */
  constructor(base, ref, auth, opts) {
    this.base = base;
    this.ref = ref;
    this.auth = auth;
    this.opts = opts;
    /** @type {string | undefined} */
    this.authorization = auth.kind === 'bearer' ? `Bearer ${auth.token}` : undefined;
    this.retried = false;
  }

  /**
   * @param {string} pathname
   * @param {Record<string, string>} headers
   */
  async get(pathname, headers = {}) {
    const url = `${this.base}${pathname}`;
    const send = () =>
      request(url, {
        headers: { ...headers, ...(this.authorization ? { Authorization: this.authorization } : {}) },
        insecure: this.opts.insecure,
        signal: this.opts.signal,
      }).catch((e) => {
        throw new Error(goNetError('GET', url, e));
      });
    let res = await send();
    if (res.status === 401 && !this.retried) {
      this.retried = true;
      const challenge = parseChallenge(res.headers['www-authenticate']);
      const auth = this.auth;
      if (challenge?.scheme === 'basic' && auth.kind === 'basic') {
        this.authorization = `Basic ${b64(`${auth.username}:${auth.password}`)}`;
        res = await send();
      } else if (challenge?.scheme === 'bearer' && auth.kind !== 'bearer') {
        this.authorization = `Bearer ${await this.fetchToken(challenge.params)}`;
        res = await send();
      }
    }
    if (res.status !== 200) throw new Error(registryErrorText('GET', url, res));
    return res;
  }

  /** @param {Record<string, string | undefined>} params */
  async fetchToken(params) {
    if (!params.realm) throw new Error('bearer challenge without realm');
    const u = new URL(params.realm);
    if (params.service) u.searchParams.set('service', params.service);
    u.searchParams.set('scope', params.scope || `repository:${this.ref.repository}:pull`);
    /** @type {Record<string, string>} */
    const headers = {};
    const auth = this.auth;
    if (auth.kind === 'basic') headers.Authorization = `Basic ${b64(`${auth.username}:${auth.password}`)}`;
    const url = u.toString();
    const res = await request(url, { headers, insecure: this.opts.insecure, signal: this.opts.signal }).catch(
      (e) => {
        throw new Error(goNetError('GET', url, e));
      },
    );
    if (res.status !== 200) throw new Error(registryErrorText('GET', url, res));
    /** @type {{ token?: string; access_token?: string }} */
    const body = JSON.parse(res.body.toString('utf8'));
    const token = body.token || body.access_token;
    if (!token) throw new Error(`GET ${url}: no token in response`);
    return token;
  }
}

/** @param {string} s */
function b64(s) {
  return Buffer.from(s, 'utf8').toString('base64');
}

/** @param {Buffer} buf */
function sha256(buf) {
  return `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`;
}

/**
 * @param {ImageRef} ref
 * @param {FetchOptions} opts
 * @returns {Promise<ScannedImage>}
 */
async function fetchImage(ref, opts) {
  const base = await pickBaseUrl(ref, opts);
  /** @type {string[]} */
  const errors = [];
  for (const auth of authenticators(ref, opts)) {
    const session = new RegistrySession(base, ref, auth, opts);
    try {
      const accept = { Accept: MANIFEST_TYPES.join(', ') };
      const top = await session.get(`/v2/${ref.repository}/manifests/${ref.reference}`, accept);
      const digest = String(top.headers['docker-content-digest'] || sha256(top.body));
      /** @type {{ mediaType?: string; manifests?: IndexEntry[]; config?: { digest?: string }; layers?: ImageLayer[] }} */
      let manifest = JSON.parse(top.body.toString('utf8'));
      if (ref.digest && sha256(top.body) !== ref.digest) {
        throw new Error(
          `manifest digest: "${sha256(top.body)}" does not match requested digest: "${ref.digest}"`,
        );
      }
      if (Array.isArray(manifest.manifests)) {
        const [wantOs, wantArch, wantVariant] = (opts.platform || 'linux/amd64').split('/');
        const child = manifest.manifests.find(
          (m) =>
            m.platform?.os === wantOs &&
            m.platform?.architecture === wantArch &&
            (!wantVariant || m.platform?.variant === wantVariant),
        );
        if (!child)
          throw new Error(`no child with platform ${opts.platform || 'linux/amd64'} in index ${ref.name}`);
        const res = await session.get(`/v2/${ref.repository}/manifests/${child.digest}`, accept);
        manifest = JSON.parse(res.body.toString('utf8'));
      }
      const configDigest = manifest.config?.digest;
      if (!configDigest) throw new Error(`unsupported manifest media type ${manifest.mediaType}`);
      const blob = await session.get(`/v2/${ref.repository}/blobs/${configDigest}`);
      if (sha256(blob.body) !== configDigest) {
        throw new Error(`error verifying sha256 checksum of ${configDigest}; got "${sha256(blob.body)}"`);
      }
      return {
        digest,
        manifest,
        configDigest,
        config: JSON.parse(blob.body.toString('utf8')),
      };
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      errors.push(errorMessage(e));
    }
  }
  throw new Error(errors.length === 1 ? errors[0] : errors.join('; '));
}

// ---- archives and OCI layouts (--input) -----------------------------------------------------------------------

/**
 * Trivy's NewArchiveImage: a docker save tarball first, then an OCI layout (a directory, or a .tar holding one).
 * @param {string} input
 * @returns {ScannedImage}
 */
function openArchive(input) {
  /** @type {string[]} */
  const errors = [];
  try {
    return readDockerArchive(input);
  } catch (e) {
    errors.push(`unable to open ${input} as a Docker image: ${errorMessage(e)}`);
  }
  try {
    return readOciLayout(input);
  } catch (e) {
    errors.push(`unable to open ${input} as an OCI Image: ${errorMessage(e)}`);
  }
  fatal(
    'run error: image scan error: scan error: unable to initialize a scan service: unable to initialize an archive ' +
      `scan service: ${errors.length} errors occurred:\n${errors.map((e) => `\t* ${e}`).join('\n')}\n`,
  );
}

/**
 * Every regular file of a tar (gzip or not), by name; symlinks inside the tar are followed within it.
 * @param {string} file
 * @param {{ firstWins: boolean }} options
 * @returns {{ get: (name: string) => Buffer | undefined }}
 */
function readTar(file, { firstWins }) {
  let data = fs.readFileSync(file);
  if (data[0] === 0x1f && data[1] === 0x8b) data = zlib.gunzipSync(data);
  /** @type {Map<string, Buffer | { link: string }>} */
  const files = new Map();
  /** @type {string | undefined} */
  let longName;
  for (let pos = 0; pos + 512 <= data.length;) {
    const header = data.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break;
    /** @type {(start: number, len: number) => string} */
    const field = (start, len) => {
      const f = header.subarray(start, start + len);
      const end = f.indexOf(0);
      return f.subarray(0, end < 0 ? len : end).toString('utf8');
    };
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    if (parseInt(field(148, 8).trim(), 8) !== sum) throw new Error('archive/tar: invalid tar header');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = header[156] === 0 ? '0' : String.fromCharCode(header[156]);
    const prefix = field(257, 5) === 'ustar' ? field(345, 155) : '';
    const body = data.subarray(pos + 512, pos + 512 + size);
    pos += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (m) longName = m[1];
      continue;
    }
    const name = (longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100))).replace(/^\.\//, '');
    longName = undefined;
    // go-containerregistry's tarball reader takes the first entry of a name; Trivy's OCI unpacking, the last.
    if (firstWins && files.has(name)) continue;
    if (type === '0' || type === '7') files.set(name, Buffer.from(body));
    else if (type === '2' || type === '1') files.set(name, { link: field(157, 100) });
  }
  /** @type {(name: string, depth?: number) => Buffer | undefined} */
  const get = (name, depth = 0) => {
    const v = files.get(name);
    if (v && !Buffer.isBuffer(v) && depth < 10) return get(v.link.replace(/^\.\//, ''), depth + 1);
    return Buffer.isBuffer(v) ? v : undefined;
  };
  return { get };
}

/**
 * go-containerregistry tarball.Image with no tag: exactly one image in manifest.json.
 * @param {string} file
 * @returns {ScannedImage}
 */
function readDockerArchive(file) {
  const stat = fs.statSync(file);
  if (stat.isDirectory()) throw new Error(`unable to open the file: read ${file}: is a directory`);
  const tar = readTar(file, { firstWins: true });
  const manifestData = tar.get('manifest.json');
  if (!manifestData) throw new Error('file manifest.json not found in tar');
  /** @type {unknown} */
  const parsedManifest = JSON.parse(manifestData.toString('utf8'));
  if (!Array.isArray(parsedManifest) || parsedManifest.length !== 1) {
    throw new Error('tarball must contain only a single image to be used with tarball.Image');
  }
  /** @type {{ Config: string; RepoTags?: string[]; Layers?: string[] }[]} */
  const manifest = parsedManifest;
  const configData = tar.get(manifest[0].Config);
  if (!configData) throw new Error(`file ${manifest[0].Config} not found in tar`);
  /** @type {ImageConfig} */
  const config = JSON.parse(configData.toString('utf8'));
  const layers = (manifest[0].Layers ?? []).map((name, i) => {
    const layer = tar.get(name);
    if (!layer) throw new Error(`file ${name} not found in tar`);
    return { size: layer.length, digest: sha256(layer), diffId: config.rootfs?.diff_ids?.[i] };
  });
  return {
    archive: true,
    repoTags: manifest[0].RepoTags ?? null,
    manifest: { layers },
    configDigest: sha256(configData),
    config,
  };
}

/**
 * Trivy's tryOCI: `path[@digest-or-ref.name]` or `path[:ref.name]`; a .tar is unpacked first.
 * @param {string} fileName
 * @returns {ScannedImage}
 */
function readOciLayout(fileName) {
  let [file, wanted] = [fileName, ''];
  if (fileName.includes('@'))
    [file, wanted] = [fileName.slice(0, fileName.indexOf('@')), fileName.slice(fileName.indexOf('@') + 1)];
  else if (fileName.includes(':'))
    [file, wanted] = [fileName.slice(0, fileName.indexOf(':')), fileName.slice(fileName.indexOf(':') + 1)];
  /** @type {(name: string) => Buffer} */
  let read;
  if (path.extname(file) === '.tar') {
    const tar = readTar(file, { firstWins: false });
    read = (name) => {
      const data = tar.get(name);
      if (!data) throw new Error(`open ${name}: no such file or directory`);
      return data;
    };
  } else {
    read = (name) => fs.readFileSync(path.join(file, name));
  }
  /**
   * @typedef {{ digest: string; annotations?: Record<string, string> }} OciDescriptor
   * @typedef {{ manifests?: OciDescriptor[]; config?: { digest: string }; layers?: ImageLayer[] }} OciDocument
   */
  /** @type {OciDocument} */
  let indexDoc;
  try {
    indexDoc = JSON.parse(read('index.json').toString('utf8'));
  } catch (e) {
    throw new Error(`unable to retrieve index.json: ${errorMessage(e)}`);
  }
  /** @param {string} digest */
  const blob = (digest) => read(path.join('blobs', ...String(digest).split(':')));
  /** @type {(doc: OciDocument, ref: string) => OciDocument} */
  const pick = (doc, ref) => {
    const list = doc.manifests ?? [];
    if (!list.length) throw new Error('no valid manifest');
    const found = list.find(
      (m) => !ref || m.annotations?.['org.opencontainers.image.ref.name'] === ref || m.digest === ref,
    );
    if (!found) throw new Error('invalid OCI image ref');
    const data = blob(found.digest);
    /** @type {OciDocument} */
    const doc2 = JSON.parse(data.toString('utf8'));
    return Array.isArray(doc2.manifests) ? pick(doc2, '') : doc2;
  };
  const manifest = pick(indexDoc, wanted);
  let configData;
  try {
    if (!manifest.config) throw new Error('manifest has no config descriptor');
    configData = blob(manifest.config.digest);
  } catch (e) {
    throw new Error(`invalid OCI image: ${errorMessage(e)}`);
  }
  for (const layer of manifest.layers ?? []) {
    try {
      blob(layer.digest);
    } catch (e) {
      throw new Error(`invalid OCI image: ${errorMessage(e)}`);
    }
  }
  /** @type {ImageConfig} */
  const config = JSON.parse(configData.toString('utf8'));
  return {
    archive: true,
    repoTags: null,
    manifest: {
      layers: (manifest.layers ?? []).map((l, i) => ({
        size: l.size,
        digest: l.digest,
        diffId: config.rootfs?.diff_ids?.[i],
      })),
    },
    configDigest: sha256(configData),
    config,
  };
}

// ---- the report ----------------------------------------------------------------------------------------------

/**
 * @param {string} name
 * @returns {TemplateReport}
 */
function loadTemplate(name) {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
    throw new Error(`label standin.report "${name}" is not a template name`);
  if (EMBEDDED_REPORTS) {
    const t = EMBEDDED_REPORTS[name];
    if (!t) throw new Error(`no stand-in report template "${name}"`);
    return structuredClone(t);
  }
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reports');
  const file = path.join(dir, `${name}.json`);
  if (!fs.existsSync(file)) throw new Error(`no stand-in report template "${name}"`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * @param {string} refText
 * @param {ImageRef | undefined} ref undefined for an archive (--input)
 * @param {ScannedImage} image
 * @param {ReportOptions} opts
 */
function buildReport(refText, ref, image, opts) {
  const labels = image.config?.config?.Labels ?? {};
  const report = loadTemplate(labels['standin.report'] ?? 'clean');
  const layers = (image.manifest.layers ?? []).map((l, i) => ({
    Size: l.size,
    Digest: l.digest,
    DiffID: image.config?.rootfs?.diff_ids?.[i],
  }));
  const lastLayer = layers.at(-1);
  /** @type {ReportResult[]} */
  const results = [];
  const out = {
    SchemaVersion: 2,
    Trivy: { Version: VERSION },
    ReportID: crypto.randomUUID(),
    CreatedAt: new Date().toISOString(),
    ArtifactID: image.configDigest,
    ArtifactName: refText,
    ArtifactType: 'container_image',
    Metadata: {
      Size: layers.reduce((n, l) => n + (l.Size ?? 0), 0),
      ...(report.Metadata?.OS ? { OS: report.Metadata.OS } : {}),
      ImageID: image.configDigest,
      DiffIDs: image.config?.rootfs?.diff_ids ?? [],
      // An archive's tags are its manifest's; it has no repo digest (Trivy's archive goldens: RepoDigests null).
      RepoTags: image.archive ? image.repoTags : ref?.tag ? [`${ref.name}:${ref.tag}`] : [],
      RepoDigests: image.archive ? null : [`${ref?.name}@${image.digest}`],
      Reference: refText,
      ImageConfig: image.config,
      Layers: layers,
    },
    Results: results,
  };
  for (const result of report.Results ?? []) {
    const r = { ...result, Target: String(result.Target).replaceAll('{{ARTIFACT}}', refText) };
    // Files Trivy never analysed: their packages and secrets are not found at all.
    if (isSkippedPath(result.Target, opts.skipFiles, opts.skipDirs)) continue;
    if (r.Class === 'os-pkgs' && !opts.pkgTypes.includes('os')) continue;
    if (r.Class === 'lang-pkgs' && !opts.pkgTypes.includes('library')) continue;
    if (r.Class === 'secret' && !opts.scanners.includes('secret')) continue;
    if ((r.Class === 'os-pkgs' || r.Class === 'lang-pkgs') && !opts.scanners.includes('vuln')) continue;
    if (!opts.listAllPkgs) delete r.Packages;
    if (r.Vulnerabilities) {
      r.Vulnerabilities = r.Vulnerabilities.filter(
        (v) =>
          opts.severities.includes(v.Severity) &&
          (!opts.ignoreUnfixed || v.FixedVersion) &&
          !opts.ignoredIds.has(v.VulnerabilityID) &&
          !opts.ignorePolicy?.ignores(v),
      ).map((v) => ({
        ...v,
        Layer: v.Layer ?? (lastLayer ? { Digest: lastLayer.Digest, DiffID: lastLayer.DiffID } : {}),
      }));
      if (!r.Vulnerabilities.length) delete r.Vulnerabilities;
    }
    if (r.Secrets) {
      r.Secrets = r.Secrets.filter(
        (s) =>
          opts.severities.includes(s.Severity) &&
          !opts.ignoredIds.has(s.RuleID) &&
          !opts.disabledSecretRules.has(s.RuleID),
      );
      if (!r.Secrets.length) continue;
    }
    out.Results.push(r);
  }
  return out;
}

// ---- commands ------------------------------------------------------------------------------------------------

/**
 * @param {string} cacheDir
 * @param {string | undefined} format
 */
function printVersion(cacheDir, format) {
  /** @type {DbMetadata | undefined} */
  const db = readJson(path.join(cacheDir, 'db', 'metadata.json'));
  /** @type {DbMetadata | undefined} */
  const javaDb = readJson(path.join(cacheDir, 'java-db', 'metadata.json'));
  if (format === 'json') {
    /** @type {{ Version: string; VulnerabilityDB?: DbMetadata; JavaDB?: DbMetadata }} */
    const out = { Version: VERSION };
    if (db) out.VulnerabilityDB = db;
    if (javaDb) out.JavaDB = javaDb;
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  let text = `Version: ${VERSION}\n`;
  for (const [title, meta] of /** @type {[string, DbMetadata | undefined][]} */ ([
    ['Vulnerability DB', db],
    ['Java DB', javaDb],
  ])) {
    if (!meta) continue;
    text += `${title}:\n  Version: ${meta.Version}\n  UpdatedAt: ${meta.UpdatedAt}\n  NextUpdate: ${meta.NextUpdate}\n  DownloadedAt: ${meta.DownloadedAt}\n`;
  }
  process.stdout.write(text);
}

/**
 * @param {Flags} flags
 * @param {string} name
 * @param {string[]} fallback
 * @param {string[]} allowed
 */
function listFlag(flags, name, fallback, allowed) {
  const values = flagList(flags, name, fallback);
  for (const v of values) {
    if (!allowed.includes(v))
      fatal(
        `flag error: ${name.replace(/-/g, ' ')} error: invalid value "${v}" (allowed values: ${allowed.join(',')})`,
      );
  }
  return values;
}

/**
 * @param {Flags} flags
 * @param {string[]} positionals
 */
async function runImage(flags, positionals) {
  const cacheDir = flagString(flags, 'cache-dir') ?? defaultCacheDir();
  const format = flagString(flags, 'format') ?? 'table';
  if (!FORMATS.includes(format)) fatal(`flag error: report flag error: unknown format: ${format}`);
  const timeoutText = flagString(flags, 'timeout') ?? '5m0s';
  const timeoutMs = parseGoDuration(timeoutText);
  if (timeoutMs === undefined) {
    return fatal(
      `invalid argument "${timeoutText}" for "--timeout" flag: time: invalid duration "${timeoutText}"`,
    );
  }
  const severities = listFlag(flags, 'severity', SEVERITIES, SEVERITIES);
  const scanners = listFlag(flags, 'scanners', ['vuln', 'secret'], SCANNERS);
  const pkgTypes = listFlag(flags, 'pkg-types', PKG_TYPES, PKG_TYPES);
  const imageSources = listFlag(
    flags,
    'image-src',
    ['docker', 'containerd', 'podman', 'remote'],
    ['docker', 'containerd', 'podman', 'remote'],
  );
  const detectionPriority = flagString(flags, 'detection-priority') ?? 'precise';
  if (!DETECTION_PRIORITIES.includes(detectionPriority)) {
    fatal(
      `flag error: scan flag error: detection priority error: invalid value "${detectionPriority}" (allowed values: ${DETECTION_PRIORITIES.join(',')})`,
    );
  }
  const severitySources = listFlag(flags, 'vuln-severity-source', ['auto'], SEVERITY_SOURCES);
  const skipFiles = flagList(flags, 'skip-files', []);
  const skipDirs = flagList(flags, 'skip-dirs', []);
  const ignorePolicyFile = flagString(flags, 'ignore-policy');
  const ignorePolicy = ignorePolicyFile !== undefined ? loadIgnorePolicy(ignorePolicyFile) : undefined;
  // What the scan was told, whichever way (flag, TRIVY_*, config file): tests read it from STANDIN_LOG.
  invocation.settings = {
    detectionPriority,
    severitySources,
    skipFiles,
    skipDirs,
    ignorePolicy: ignorePolicy?.file,
  };
  const backend = flagString(flags, 'cache-backend') ?? 'fs';
  if (backend !== 'fs' && backend !== 'memory') {
    fatal(
      `run error: init error: unable to initialize cache: the Trivy stand-in supports only the fs and memory cache backends, not "${backend}"`,
    );
  }
  const dbRepos = flagList(flags, 'db-repository', DEFAULT_DB_REPOS);
  const javaDbRepos = flagList(flags, 'java-db-repository', DEFAULT_JAVA_DB_REPOS);

  if (flagBool(flags, 'download-db-only') || flagBool(flags, 'download-java-db-only')) {
    if (positionals.length) fatal(`run error: the --download-db-only flag takes no image`);
    if (flagBool(flags, 'download-db-only')) downloadDb(cacheDir, 'db', dbRepos);
    if (flagBool(flags, 'download-java-db-only')) downloadDb(cacheDir, 'java-db', javaDbRepos);
    return;
  }
  if (flags.has('server')) fatal('run error: client/server mode is not implemented by the Trivy stand-in');
  const input = flagString(flags, 'input');
  if (!input && positionals.length !== 1) fatal(`accepts 1 arg(s), received ${positionals.length}`);
  // With --input, Trivy scans the archive; the image name argument is not used.
  const refText = input ?? positionals[0];
  invocation.image = refText;
  if (input) invocation.input = input;

  const controller = new AbortController();
  if (timeoutMs > 0) {
    setTimeout(() => {
      controller.abort();
      process.stderr.write(
        `${stamp()}\tERROR\t[vuln] Provide a higher timeout value, see https://trivy.dev/latest/docs/references/troubleshooting/#timeout\n`,
      );
      fatal(
        'run error: image scan error: scan error: scan failed: failed analysis: analyze error: timeout: context deadline exceeded',
      );
    }, timeoutMs).unref();
  }

  const metaFile = path.join(cacheDir, 'db', 'metadata.json');
  if (flagBool(flags, 'skip-db-update')) {
    if (!fs.existsSync(metaFile)) {
      fatal(
        'run error: init error: DB error: failed to download vulnerability DB: --skip-db-update cannot be specified on the first run',
      );
    }
  } else if (dbNeedsUpdate(cacheDir)) {
    downloadDb(cacheDir, 'db', dbRepos);
  }
  if (backend === 'fs') await lockFsCache(cacheDir);

  const ref = input ? undefined : parseReference(refText);
  if (!input && !ref)
    fatal(
      `run error: image scan error: scan error: unable to initialize a scan service: unable to initialize an image scan service: could not parse reference: ${refText}`,
    );
  logInfo(`[vuln] Vulnerability scanning is enabled`);
  // `--vex` (a string list): repo, oci, sbom-ref or a file path; a file that cannot be read is fatal, as in Trivy.
  // The stand-in records the sources but does not emulate VEX Hub or attestation discovery (no network here).
  const vexSources = flagList(flags, 'vex', []);
  for (const source of vexSources) {
    if (['repo', 'oci', 'sbom-ref'].includes(source)) continue;
    if (!fs.existsSync(source))
      fatal(`run error: VEX error: unable to load VEX: open ${source}: no such file or directory`);
  }
  if (vexSources.length) invocation.vex = vexSources;

  /** @type {ScannedImage | undefined} */
  let image;
  /** @type {string[]} */
  const sourceErrors = [];
  if (input) {
    image = openArchive(input);
  } else
    for (const src of imageSources) {
      if (src === 'docker') {
        sourceErrors.push(
          `docker error: unable to inspect the image (${refText}): Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?`,
        );
      } else if (src === 'containerd') {
        sourceErrors.push('containerd error: containerd socket not found: /run/containerd/containerd.sock');
      } else if (src === 'podman') {
        sourceErrors.push(
          'podman error: unable to initialize Podman client: no podman socket found: stat podman/podman.sock: no such file or directory',
        );
      } else if (ref) {
        try {
          image = await fetchImage(ref, {
            usernames: flagList(flags, 'username', []),
            passwords: flagList(flags, 'password', []),
            registryToken: flagString(flags, 'registry-token'),
            insecure: flagBool(flags, 'insecure') === true,
            platform: flagString(flags, 'platform'),
            signal: controller.signal,
          });
          break;
        } catch (e) {
          sourceErrors.push(`remote error: ${errorMessage(e)}`);
        }
      }
    }
  if (!image) {
    const quoted = imageSources.map((s) => `"${s}"`).join(' ');
    const n = sourceErrors.length;
    return fatal(
      `run error: image scan error: scan error: unable to initialize a scan service: unable to initialize an image scan service: ` +
        `unable to find the specified image "${refText}" in [${quoted}]: ${n} error${n === 1 ? '' : 's'} occurred:\n` +
        sourceErrors.map((e) => `\t* ${e}`).join('\n') +
        '\n',
    );
  }

  const delay = Number(SETTINGS.STANDIN_SCAN_DELAY_MS || 0);
  if (delay > 0) await sleep(delay);

  let report;
  try {
    report = buildReport(refText, ref, image, {
      severities,
      scanners,
      pkgTypes,
      listAllPkgs: flagBool(flags, 'list-all-pkgs') ?? true,
      ignoreUnfixed: flagBool(flags, 'ignore-unfixed') === true,
      ignoredIds: readIgnoreFile(flagString(flags, 'ignorefile') ?? '.trivyignore'),
      skipFiles,
      skipDirs,
      ignorePolicy,
      disabledSecretRules: scanners.includes('secret')
        ? readSecretConfig(flagString(flags, 'secret-config'))
        : new Set(),
    });
  } catch (e) {
    return fatal(`run error: image scan error: scan error: ${errorMessage(e)}`);
  }
  if (format !== 'json')
    fatal(`run error: report error: the Trivy stand-in writes only --format json, not ${format}`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const output = flagString(flags, 'output');
  if (output) {
    try {
      fs.writeFileSync(output, text);
    } catch (e) {
      fatal(`run error: failed to create an output file: ${errorMessage(e)}`);
    }
  } else process.stdout.write(text);
  const exitCode = Number(flagString(flags, 'exit-code') ?? 0);
  const found = report.Results.some((r) => r.Vulnerabilities?.length || r.Secrets?.length);
  if (exitCode && found) process.exitCode = exitCode;
}

async function main() {
  const { name, rest } = findCommand(process.argv.slice(2));
  if (name && OTHER_COMMANDS.has(name)) fatal(`the Trivy stand-in does not implement "trivy ${name}"`);
  if (name && !COMMANDS[name]) fatal(`unknown command "${name}" for "trivy"`);
  const spec = name ? COMMANDS[name] : ROOT;
  if (!spec) return fatal(`unknown command "${name}" for "trivy"`);
  const parsed = parseArgs(rest, spec);
  applyConfigFile(parsed);
  const { flags, positionals } = parsed;
  quiet = flagBool(flags, 'quiet') === true;
  invocation.command = name ?? 'trivy';
  const cacheDir = flagString(flags, 'cache-dir') ?? defaultCacheDir();
  if (flagBool(flags, 'help')) {
    process.stdout.write(`Usage:\n  trivy ${name ?? ''} [flags]\n\n(Trivy stand-in for tests)\n`);
    return;
  }
  if (!name || name === 'version') {
    if (name === 'version' || flagBool(flags, 'version'))
      return printVersion(cacheDir, flagString(flags, 'format'));
    if (positionals.length) fatal(`unknown command "${positionals[0]}" for "trivy"`);
    process.stdout.write('Usage:\n  trivy [command]\n');
    return;
  }
  if (flagBool(flags, 'version')) return printVersion(cacheDir, flagString(flags, 'format'));
  await runImage(flags, positionals);
}

main().then(
  () => process.exit(),
  (/** @type {unknown} */ e) => fatal((e instanceof Error ? e.stack : undefined) ?? String(e)),
);
