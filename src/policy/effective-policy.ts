import type { FailOn, GateInputs, GateMode } from '../config.js';
import { SEVERITIES, type Severity } from '../model.js';
import type { ImageOverride, MaxCounts, Policy } from './policy-file.js';

// The policy the gate applies, and where each setting came from. Precedence, strongest first:
//   1. an input given explicitly in the workflow (`fail-on`, `max-high`, `max-cvss`, `ignore-unfixed`,
//      `new-findings-only`)
//      — it applies to every image, so a per-image rule in the file cannot weaken it;
//   2. the first `images[]` entry of the policy file whose `match` fits the image;
//   3. the policy file's top level;
//   4. the defaults: fail-on CRITICAL, nothing else.
// `max` is merged per severity at every level.

type SettingSource = 'input' | 'policy file' | 'default';

export interface GateRules {
  failOn: FailOn;
  max: MaxCounts;
  maxCvss?: number;
  ignoreUnfixed: boolean;
  /** Per severity: how many findings not in the baseline an image may have (every finding without a baseline). */
  maxNew: MaxCounts;
}

export interface EffectivePolicy {
  /** Rules for an image no `images[]` entry matches. */
  rules: GateRules;
  sources: {
    failOn: SettingSource;
    max: Partial<Record<Severity, SettingSource>>;
    maxCvss: SettingSource;
    ignoreUnfixed: SettingSource;
    newFindingsOnly: SettingSource;
    expiredIgnores: SettingSource;
    scanErrors: SettingSource;
  };
  /** Per-image overrides from the policy file, in file order (first match wins). */
  images: ImageOverride[];
  gate: GateMode;
  /** The rules apply only to findings not in the baseline; without a baseline, to every finding. */
  newFindingsOnly: boolean;
  expiredIgnores: 'warn' | 'fail';
  scanErrors: 'fail' | 'warn';
  /** The policy file, when one was given. */
  file?: string;
}

const DEFAULT_FAIL_ON: FailOn = 'CRITICAL';

export function effectivePolicy(file: Policy | undefined, inputs: GateInputs): EffectivePolicy {
  const pick = <T>(input: T | undefined, fromFile: T | undefined, fallback: T): [T, SettingSource] =>
    input !== undefined
      ? [input, 'input']
      : fromFile !== undefined
        ? [fromFile, 'policy file']
        : [fallback, 'default'];

  const [failOn, failOnSource] = pick(inputs.failOn, file?.failOn, DEFAULT_FAIL_ON);
  const [maxCvss, maxCvssSource] = pick<number | undefined>(inputs.maxCvss, file?.maxCvss, undefined);
  const [ignoreUnfixed, ignoreUnfixedSource] = pick(inputs.ignoreUnfixed, file?.ignoreUnfixed, false);
  const [newFindingsOnly, newFindingsOnlySource] = pick(inputs.newFindingsOnly, file?.newFindingsOnly, false);
  const [expiredIgnores, expiredSource] = pick(undefined, file?.expiredIgnores, 'warn' as const);
  const [scanErrors, scanErrorsSource] = pick(undefined, file?.scanErrors, 'fail' as const);

  const max: MaxCounts = {};
  const maxSources: Partial<Record<Severity, SettingSource>> = {};
  for (const sev of SEVERITIES) {
    const fromInput = sev === 'UNKNOWN' ? undefined : inputs.max[sev];
    const fromFile = file?.max?.[sev];
    if (fromInput !== undefined) [max[sev], maxSources[sev]] = [fromInput, 'input'];
    else if (fromFile !== undefined) [max[sev], maxSources[sev]] = [fromFile, 'policy file'];
  }

  return {
    rules: { failOn, max, maxCvss, ignoreUnfixed, maxNew: file?.maxNew ?? {} },
    sources: {
      failOn: failOnSource,
      max: maxSources,
      maxCvss: maxCvssSource,
      ignoreUnfixed: ignoreUnfixedSource,
      newFindingsOnly: newFindingsOnlySource,
      expiredIgnores: expiredSource,
      scanErrors: scanErrorsSource,
    },
    images: file?.images ?? [],
    gate: inputs.gate,
    newFindingsOnly,
    expiredIgnores,
    scanErrors,
    file: file?.file,
  };
}

/** The rules for one image: the first matching override applied under the explicit inputs. */
export function rulesFor(policy: EffectivePolicy, override: ImageOverride | undefined): GateRules {
  if (!override) return policy.rules;
  const { rules, sources } = policy;
  const fromOverride = <T>(base: T, source: SettingSource, value: T | undefined): T =>
    source !== 'input' && value !== undefined ? value : base;
  const max: MaxCounts = { ...rules.max };
  for (const sev of SEVERITIES) {
    const n = override.max?.[sev];
    if (n !== undefined && sources.max[sev] !== 'input') max[sev] = n;
  }
  return {
    failOn: fromOverride(rules.failOn, sources.failOn, override.failOn),
    max,
    maxCvss: fromOverride(rules.maxCvss, sources.maxCvss, override.maxCvss),
    ignoreUnfixed: fromOverride(rules.ignoreUnfixed, sources.ignoreUnfixed, override.ignoreUnfixed),
    maxNew: { ...rules.maxNew, ...override.maxNew },
  };
}

/** Human lines for the summary: each setting with where it came from. */
export function describePolicy(p: EffectivePolicy): string[] {
  const from = (s: SettingSource) => (s === 'policy file' && p.file ? `policy file ${p.file}` : s);
  const lines = [
    `fail-on: ${p.rules.failOn.toLowerCase()} (${from(p.sources.failOn)})`,
    `max: ${describeMax(p.rules.max, (sev) => from(p.sources.max[sev] ?? 'default'))}`,
    `max-cvss: ${p.rules.maxCvss === undefined ? 'none' : p.rules.maxCvss.toFixed(1)} (${from(p.sources.maxCvss)})`,
    `ignore-unfixed: ${p.rules.ignoreUnfixed} (${from(p.sources.ignoreUnfixed)})`,
    `expired-ignores: ${p.expiredIgnores} (${from(p.sources.expiredIgnores)})`,
    `scan-errors: ${p.scanErrors} (${from(p.sources.scanErrors)})`,
    `gate: ${p.gate}`,
  ];
  // Said only when used, so policies without a baseline read as before.
  if (p.newFindingsOnly || p.sources.newFindingsOnly !== 'default')
    lines.push(`new-findings-only: ${p.newFindingsOnly} (${from(p.sources.newFindingsOnly)})`);
  if (SEVERITIES.some((sev) => p.rules.maxNew[sev] !== undefined))
    lines.push(`max-new: ${describeMax(p.rules.maxNew, () => from('policy file'))}`);
  for (const o of p.images) {
    const parts: string[] = [];
    const shadowed: string[] = [];
    const note = (name: string, value: string, source: SettingSource) =>
      (source === 'input' ? shadowed : parts).push(`${name} ${value}`);
    if (o.failOn !== undefined) note('fail-on', o.failOn.toLowerCase(), p.sources.failOn);
    for (const sev of SEVERITIES) {
      const n = o.max?.[sev];
      if (n !== undefined) note(`max-${sev.toLowerCase()}`, String(n), p.sources.max[sev] ?? 'default');
    }
    if (o.maxCvss !== undefined) note('max-cvss', o.maxCvss.toFixed(1), p.sources.maxCvss);
    if (o.ignoreUnfixed !== undefined)
      note('ignore-unfixed', String(o.ignoreUnfixed), p.sources.ignoreUnfixed);
    for (const sev of SEVERITIES) {
      const n = o.maxNew?.[sev];
      if (n !== undefined) note(`max-new-${sev.toLowerCase()}`, String(n), 'policy file');
    }
    let line = `images matching "${o.match}" (${o.source}): ${parts.length ? parts.join(', ') : 'no changes'}`;
    if (shadowed.length) line += `; overridden by inputs: ${shadowed.join(', ')}`;
    lines.push(line);
  }
  return lines;
}

function describeMax(max: MaxCounts, source: (sev: Severity) => string): string {
  const set = SEVERITIES.filter((sev) => max[sev] !== undefined);
  if (set.length === 0) return 'none';
  return set.map((sev) => `${sev.toLowerCase()} ${String(max[sev])} (${source(sev)})`).join(', ');
}
