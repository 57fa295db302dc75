import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { jsonSyntaxProblem } from '../errors.js';
import type { RunProcess } from '../infra/exec.js';
import type { TrivyIsolation } from '../install/trivy-isolation.js';
import { boundedErrorText, trivyFatalText } from '../install/trivy-output.js';
import type { Target } from '../model.js';
import { formatRef } from '../targets/reference.js';
import { buildScanArgs, goDuration, type ScanSource } from './trivy-args.js';
import type { TrivySettings } from './trivy-settings.js';

export interface ScanImageOptions {
  trivyPath: string;
  cacheDir: string;
  reportDir: string;
  /** Added to Trivy's allow-listed environment: credentials arrive here (DOCKER_CONFIG), never in argv. */
  env: Readonly<Record<string, string>>;
  /** The private cwd, config and ignore file every Trivy process runs with. */
  isolation: TrivyIsolation;
  timeoutMs: number;
  scanners: string[];
  pkgTypes: string[];
  platform?: string;
  /** `skip-files`, `skip-dirs`, `detection-priority`, `vuln-severity-source` (the config file is in `isolation`). */
  settings?: Pick<TrivySettings, 'skipFiles' | 'skipDirs' | 'detectionPriority' | 'vulnSeveritySource'>;
  listAllPkgs?: boolean;
  /** Trivy's own VEX sources (`vex: repo` / `oci`). */
  vexSources?: readonly string[];
  runProcess: RunProcess;
}

export type ScanOutcome =
  | { ok: true; report: unknown; reportFile: string; durationMs: number }
  | { ok: false; error: string; durationMs: number };

/** Time past Trivy's own --timeout before the process is killed: Trivy should stop itself and say why first. */
export function hardKillAfterMs(timeoutMs: number): number {
  return timeoutMs + Math.min(60_000, Math.max(5_000, Math.round(timeoutMs * 0.1)));
}

/** One Trivy process for one image; its failure is a value (Trivy's own words, bounded), never an exception. */
export async function scanImage(target: Target, opts: ScanImageOptions): Promise<ScanOutcome> {
  const outcome = await runTrivyScan(target, opts);
  return outcome.ok
    ? outcome
    : { ...outcome, error: boundedErrorText(`${sourceLabel(target)}${outcome.error}`) };
}

async function runTrivyScan(target: Target, opts: ScanImageOptions): Promise<ScanOutcome> {
  await mkdir(opts.reportDir, { recursive: true });
  const reportFile = path.join(opts.reportDir, reportFileName(target.ref, localKey(target)));
  await rm(reportFile, { force: true });
  // A tag pinned by a plan is scanned at its digest (Trivy takes `repo:tag@digest`), so a moved tag changes nothing.
  const scanned = target.pinned
    ? formatRef(target.registry, target.repository, target.tag, target.digest)
    : target.ref;
  const args = buildScanArgs(scanned, {
    source: scanSourceOf(target),
    cacheDir: opts.cacheDir,
    timeoutMs: opts.timeoutMs,
    scanners: opts.scanners,
    pkgTypes: opts.pkgTypes,
    // A Dockerfile's `FROM --platform=…` names its own platform; the `platform` input is the default (and what the
    // result cache keys on the same way: scale/result-cache.ts keyParts).
    platform: target.platform ?? opts.platform,
    ...(opts.vexSources?.length && { vexSources: opts.vexSources }),
    ...(opts.listAllPkgs && { listAllPkgs: true }),
    outputFile: reportFile,
    configFile: opts.isolation.scanConfigFile ?? opts.isolation.configFile,
    ignoreFile: opts.isolation.ignoreFile,
    ...(opts.isolation.ignorePolicyFile && { ignorePolicyFile: opts.isolation.ignorePolicyFile }),
    skipFiles: opts.settings?.skipFiles,
    skipDirs: opts.settings?.skipDirs,
    detectionPriority: opts.settings?.detectionPriority,
    vulnSeveritySource: opts.settings?.vulnSeveritySource,
  });
  const started = Date.now();
  let result;
  try {
    result = await opts.runProcess({
      command: opts.trivyPath,
      args,
      env: opts.env,
      cwd: opts.isolation.cwd,
      timeoutMs: hardKillAfterMs(opts.timeoutMs),
    });
  } catch (e) {
    return {
      ok: false,
      error: `Trivy could not be started: ${e instanceof Error ? e.message : String(e)}`,
      durationMs: Date.now() - started,
    };
  }
  const durationMs = result.durationMs;
  if (result.timedOut) return { ok: false, error: timedOut(opts.timeoutMs), durationMs };
  if (result.exitCode !== 0) {
    const fatal = trivyFatalText(result.stderr);
    // Trivy stops itself at --timeout (before the hard kill) and says only "context deadline exceeded".
    const deadline = /context deadline exceeded/.test(fatal) && durationMs >= opts.timeoutMs;
    return {
      ok: false,
      error: deadline
        ? `${timedOut(opts.timeoutMs)}\n${fatal}`
        : fatal || `Trivy exited with code ${result.exitCode}`,
      durationMs,
    };
  }
  let text: string;
  try {
    text = await readFile(reportFile, 'utf8');
  } catch {
    return { ok: false, error: `Trivy wrote no valid JSON report: ${reportFile} is missing`, durationMs };
  }
  try {
    const report: unknown = JSON.parse(text);
    if (typeof report !== 'object' || report === null || Array.isArray(report)) {
      return { ok: false, error: 'Trivy wrote no valid JSON report: not a JSON object', durationMs };
    }
    return { ok: true, report, reportFile, durationMs };
  } catch (e) {
    return {
      ok: false,
      error: `Trivy wrote no valid JSON report: ${jsonSyntaxProblem(e, text)}`,
      durationMs,
    };
  }
}

/** An archive or layout is read from its checked path; a daemon image from that daemon only; anything else from the registry. */
function scanSourceOf(target: Target): ScanSource {
  if (target.local?.kind === 'archive') return { input: target.local.path };
  if (target.local?.kind === 'daemon') return { imageSrc: target.local.daemon };
  return { imageSrc: 'remote' };
}

/** Where the failed image was read from, first in its error: `local docker daemon: ...`. */
function sourceLabel(target: Target): string {
  if (target.local?.kind === 'daemon')
    return `local ${target.local.daemon} image (image source ${target.local.daemon}): `;
  if (target.local?.kind === 'archive')
    return `${target.local.format} ${target.input.slice(target.input.indexOf(':') + 1)}: `;
  return '';
}

/** Tells apart a local image from the registry image of the same name (and two archives naming the same image). */
function localKey(target: Target): string {
  if (target.local?.kind === 'archive') return `${target.local.format}:${target.local.path}`;
  return target.local?.daemon ?? '';
}

/** Names the input that sets the limit, and its value, so the fix is obvious. */
function timedOut(timeoutMs: number): string {
  const limit = goDuration(timeoutMs);
  return `timed out after ${limit} (the \`timeout\` input, now ${limit}; raise it for large images or slow registries)`;
}

/** A readable, unique file name per reference: `ghcr.io_acme_api_1.2-3f9c2a1b.json`. */
export function reportFileName(ref: string, local = ''): string {
  const readable = ref
    .replace(/@sha256:[0-9a-f]+$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 100);
  const hash = createHash('sha256')
    .update(local ? `${local}\u0000${ref}` : ref)
    .digest('hex')
    .slice(0, 8);
  return `${readable}-${hash}.json`;
}
