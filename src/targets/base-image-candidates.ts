import {
  isFixable,
  type BaseImageAdvice,
  type BaseImageCandidate,
  type FindingTally,
  type Finding,
  type ImageResult,
  type Target,
} from '../model.js';
import { fileFormatOf } from './file-references.js';
import { formatRef } from './reference.js';

// Base image advice, the pure part: which images get advice, which newer tags of a Dockerfile's FROM image are on
// the same track, and which of them to recommend once scanned. No I/O: the registry listing (./base-image-tags.ts)
// and the scans are stages main.ts calls.

/** A tag read as a version: `v`? numbers separated by dots, then an optional variant suffix (`-alpine`, `-slim`). */
interface TagVersion {
  prefix: string; // 'v' or ''
  numbers: number[];
  variant: string; // '' or '-alpine3.19', '-bookworm-slim', ...
}

const VERSION_TAG = /^(v?)(\d{1,9}(?:\.\d{1,9}){0,3})(-[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

function parseTagVersion(tag: string): TagVersion | undefined {
  const m = VERSION_TAG.exec(tag);
  if (!m) return undefined;
  return { prefix: m[1], numbers: m[2].split('.').map(Number), variant: m[3] ?? '' };
}

function compareNumbers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The newer tags on the current tag's track, newest first (by version, not by text: `3.18.10` is newer than
 * `3.18.9`), at most `max`. The track keeps everything but the last number and the variant: `20.11` → `20.12`,
 * `20.14` (not `21.0`, nor `20.14.1`, nor `20.14-alpine`); `3.18.4-alpine` → `3.18.6-alpine`. A tag that is not a
 * version (`latest`, `bookworm`) or a bare major (`20`, which already floats) has no track.
 */
export function newerTagsOnTrack(currentTag: string, tags: readonly string[], max: number): string[] {
  const current = parseTagVersion(currentTag);
  if (!current || current.numbers.length < 2 || max <= 0) return [];
  const fixed = current.numbers.slice(0, -1);
  const candidates: { tag: string; numbers: number[] }[] = [];
  for (const tag of new Set(tags)) {
    const v = parseTagVersion(tag);
    if (
      !v ||
      v.prefix !== current.prefix ||
      v.variant !== current.variant ||
      v.numbers.length !== current.numbers.length ||
      compareNumbers(v.numbers.slice(0, -1), fixed) !== 0 ||
      compareNumbers(v.numbers, current.numbers) <= 0
    )
      continue;
    candidates.push({ tag, numbers: v.numbers });
  }
  return candidates
    .sort((a, b) => compareNumbers(b.numbers, a.numbers) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
    .slice(0, max)
    .map((c) => c.tag);
}

export interface ScannedCandidate {
  tag: string;
  tally: FindingTally;
}

export interface Recommendation extends ScannedCandidate {
  /** Findings the move removes (negative when it adds): current minus candidate. */
  removed: FindingTally;
}

/**
 * The candidate that removes the most critical + high findings; ties go to the fewer findings in all, then to the
 * newest (candidates come newest first). None when no candidate has fewer critical + high findings than now.
 */
export function recommend(
  current: FindingTally,
  candidates: readonly ScannedCandidate[],
): Recommendation | undefined {
  let best: ScannedCandidate | undefined;
  for (const c of candidates) {
    if (c.tally.critical + c.tally.high >= current.critical + current.high) continue;
    if (
      !best ||
      c.tally.critical + c.tally.high < best.tally.critical + best.tally.high ||
      (c.tally.critical + c.tally.high === best.tally.critical + best.tally.high &&
        c.tally.total < best.tally.total)
    )
      best = c;
  }
  if (!best) return undefined;
  return {
    ...best,
    removed: {
      critical: current.critical - best.tally.critical,
      high: current.high - best.tally.high,
      total: current.total - best.tally.total,
    },
  };
}

/** A FROM image worth advice: scanned from a registry, by tag (not pinned by digest), with fixable findings. */
export function needsBaseImageAdvice(image: ImageResult): boolean {
  const { target } = image;
  return (
    (image.status === 'scanned' || image.status === 'reused') &&
    !target.local &&
    !!target.tag &&
    !target.input.includes('@') &&
    target.origins.some((o) => fileFormatOf(o.file) === 'dockerfile') &&
    image.findings.some(isFixable)
  );
}

function tallyOf(findings: readonly Finding[]): FindingTally {
  let critical = 0;
  let high = 0;
  for (const f of findings) {
    if (f.severity === 'CRITICAL') critical++;
    else if (f.severity === 'HIGH') high++;
  }
  return { critical, high, total: findings.length };
}

/** A newer tag of `image`'s repository, as a target of its own (no origins: no file names it). */
export function candidateTarget(image: Target, tag: string): Target {
  const ref = formatRef(image.registry, image.repository, tag);
  return {
    ref,
    input: ref,
    registry: image.registry,
    repository: image.repository,
    tag,
    ...(image.platform && { platform: image.platform }),
    origins: [],
    sources: ['registry'],
  };
}

/** A FROM image and the newer tags listed for it (newest first). */
export interface BaseImagePlan {
  image: ImageResult;
  candidates: Target[];
}

/** The advice per FROM image, from its candidates' scans (matched by ref; a failed scan is kept, never chosen). */
export function adviseBaseImages(
  plans: readonly BaseImagePlan[],
  scanned: readonly ImageResult[],
): BaseImageAdvice[] {
  const byRef = new Map(scanned.map((r) => [r.target.ref, r]));
  return plans.map(({ image, candidates }) => {
    const tally = tallyOf(image.findings);
    const results = candidates.map((target): BaseImageCandidate => {
      const r = byRef.get(target.ref);
      const base = { tag: target.tag ?? '', ref: target.ref, ...(r?.digest && { digest: r.digest }) };
      if (!r || r.status === 'failed') return { ...base, status: 'failed', error: r?.error ?? 'not scanned' };
      return { ...base, status: 'scanned', tally: tallyOf(r.findings) };
    });
    const best = recommend(
      tally,
      results.flatMap((c) => (c.tally ? [{ tag: c.tag, tally: c.tally }] : [])),
    );
    const bestRef = best && results.find((c) => c.tag === best.tag)?.ref;
    return {
      ref: image.target.ref,
      tag: image.target.tag ?? '',
      origins: image.target.origins.filter((o) => fileFormatOf(o.file) === 'dockerfile'),
      tally,
      candidates: results,
      ...(best && bestRef && { recommended: { ...best, ref: bestRef } }),
    };
  });
}
