// Trivy's command line for one image scan. Pure: the same inputs always give the same argv. Every scan asks for
// everything (all severities, never --severity or --exit-code): the summary, SARIF, comment and gate are all derived
// from this one report, so they cannot disagree. Trivy's own config and ignore file are private files
// (install/trivy-isolation.ts): nothing from the workspace changes what Trivy reports except the settings the
// workflow names (scan/trivy-settings.ts). The DB was downloaded once before the scans, and the memory cache backend
// lets scans share one --cache-dir without the fs cache lock (which would serialise them).

import type { ImageDaemon } from '../model.js';

/**
 * Where Trivy reads the image: `--image-src` names the one place to look (never Trivy's default docker, containerd,
 * podman, remote order, so a registry image is the digest the action resolved and a daemon image is never pulled);
 * `--input` is an archive or OCI layout.
 */
export type ScanSource = { imageSrc: 'remote' | ImageDaemon } | { input: string };

export interface ScanArgsOptions {
  cacheDir: string;
  timeoutMs: number;
  scanners: string[];
  pkgTypes: string[];
  platform?: string;
  /** Every package in the report (`Packages[]`), for SBOMs; otherwise left out to keep the report small. */
  listAllPkgs?: boolean;
  /** Trivy's own VEX sources (`repo`, `oci`), in priority order. */
  vexSources?: readonly string[];
  outputFile: string;
  /** A private trivy.yaml (empty, or the validated part of `trivy-config`) and a private empty .trivyignore. */
  configFile: string;
  ignoreFile: string;
  /** A private copy of the `ignore-policy` Rego. */
  ignorePolicyFile?: string;
  skipFiles?: readonly string[];
  skipDirs?: readonly string[];
  detectionPriority?: string;
  vulnSeveritySource?: readonly string[];
  source?: ScanSource;
}

export function buildScanArgs(ref: string, opts: ScanArgsOptions): string[] {
  const args = [
    'image',
    '--config',
    opts.configFile,
    '--ignorefile',
    opts.ignoreFile,
    '--format',
    'json',
    '--output',
    opts.outputFile,
    `--list-all-pkgs=${opts.listAllPkgs === true}`,
    '--skip-db-update',
    '--skip-java-db-update',
    '--cache-backend',
    'memory',
    '--cache-dir',
    opts.cacheDir,
  ];
  if (opts.scanners.length) args.push('--scanners', opts.scanners.join(','));
  if (opts.pkgTypes.length) args.push('--pkg-types', opts.pkgTypes.join(','));
  if (opts.vexSources?.length) args.push('--vex', opts.vexSources.join(','));
  args.push(
    '--timeout',
    goDuration(opts.timeoutMs),
    '--quiet',
    '--skip-version-check',
    '--disable-telemetry',
  );
  if (opts.platform) args.push('--platform', opts.platform);
  // One flag per entry, as the user listed them (Trivy would split a comma inside one anyway). Flags win over the
  // same keys in the config file, as in Trivy.
  for (const file of opts.skipFiles ?? []) args.push('--skip-files', file);
  for (const dir of opts.skipDirs ?? []) args.push('--skip-dirs', dir);
  if (opts.detectionPriority) args.push('--detection-priority', opts.detectionPriority);
  if (opts.vulnSeveritySource?.length) args.push('--vuln-severity-source', opts.vulnSeveritySource.join(','));
  if (opts.ignorePolicyFile) args.push('--ignore-policy', opts.ignorePolicyFile);
  if (opts.source && 'input' in opts.source) {
    // An absolute path: the value of --input, never read as a flag.
    args.push('--input', opts.source.input);
    return args;
  }
  if (opts.source) args.push('--image-src', opts.source.imageSrc);
  // `--` so that a reference can never be read as a flag.
  args.push('--', ref);
  return args;
}

/** Milliseconds as a Go duration (Trivy's --timeout): 600000 -> 10m, 90500 -> 1m30s500ms. */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const units: [string, number][] = [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = total;
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n) out += `${n}${unit}`;
  }
  return out || '0s';
}
