import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigurationError } from '../errors.js';
import type { PlannedShard, Target } from '../model.js';
import { splitList } from '../inputs.js';
import { formatRef } from '../targets/reference.js';

// A shard plan: what `mode: discover` with `shards` dealt out, so the fan-in job can tell a complete set of shard
// results from one that lost a shard (rule 9, "nothing lost"). Pure.
//
// Each matrix entry's `images` starts with a comment line naming the plan and the shard
// (`# image-scan-gate plan 1a2b3c4d5e6f shard 3/8`). Every list splitter skips comments, so a workflow that passes
// `images: ${{ matrix.images }}` carries the plan into the shard job unchanged; the shard job records it (with the
// images it was given) in its results file. The matrix itself is the whole plan: given to the report job's `plan`
// input, it names even the images of a shard that sent nothing (no second output doubling the matrix's size
// against GitHub's 1 MB of job outputs).

export type ShardIdentity = Omit<PlannedShard, 'images'>;

export interface Plan {
  id: string;
  /** Shard k at index k-1; each image a pinned reference (see pinnedRef). */
  shards: { shard: number; images: string[] }[];
}

/** The plan of these shards; its id is derived from them, so rerunning discovery on the same images gives the same plan. */
export function makePlan(shards: Plan['shards']): Plan {
  const id = createHash('sha256').update(JSON.stringify(shards)).digest('hex').slice(0, 12);
  return { id, shards };
}

/**
 * How a shard job is told to scan a target: `registry/repository:tag@digest` when its digest is known, so the job
 * scans exactly what was planned even if the tag moves meanwhile; otherwise the ref as it is.
 */
export function pinnedRef(t: Target): string {
  return t.digest && t.tag ? formatRef(t.registry, t.repository, t.tag, t.digest) : t.ref;
}

export function shardHeader(s: ShardIdentity): string {
  return `# image-scan-gate plan ${s.id} shard ${s.shard}/${s.shards}`;
}

const HEADER_START = /^\s*#\s*image-scan-gate plan\b/;
const HEADER = /^\s*#\s*image-scan-gate plan ([0-9a-f]{12}) shard (\d{1,3})\/(\d{1,3})\s*$/;

/** The plan a shard job's `images` belongs to, from its header line; undefined for a list written by hand. */
export function parseShardHeader(rawImages: string): ShardIdentity | undefined {
  const fix = "Pass the matrix entry's images unchanged (images: ${{ matrix.images }}).";
  const found = headersIn(rawImages);
  const damaged = found.find((h): h is string => typeof h === 'string');
  if (damaged !== undefined) {
    throw new ConfigurationError(
      `\`images\` holds a damaged plan line "${damaged.slice(0, 80)}"; expected ` +
        `"# image-scan-gate plan <12 hex digits> shard <k>/<n>". ${fix}`,
      'images',
    );
  }
  const headers = found.filter((h): h is ShardIdentity => typeof h !== 'string');
  const distinct = new Set(headers.map(shardHeader));
  if (distinct.size > 1) {
    throw new ConfigurationError(
      `\`images\` holds ${distinct.size} different plan lines (${[...distinct].join('; ')}); give one matrix ` +
        `entry's images per job. ${fix}`,
      'images',
    );
  }
  return headers[0];
}

/** Each plan line of a list: its identity, or the line itself (trimmed) when it is damaged. */
function headersIn(rawImages: string): (ShardIdentity | string)[] {
  const found: (ShardIdentity | string)[] = [];
  for (const line of rawImages.split(/\r?\n/)) {
    if (!HEADER_START.test(line)) continue;
    const m = HEADER.exec(line);
    const shard = m ? Number(m[2]) : 0;
    const shards = m ? Number(m[3]) : 0;
    found.push(m && shard >= 1 && shard <= shards ? { id: m[1], shard, shards } : line.trim());
  }
  return found;
}

const matrixSchema = z.object({
  include: z.array(z.object({ shard: z.number().int().min(1), images: z.string() })),
});

/**
 * The report job's `plan` input: the discover job's `matrix` output, unchanged. Every entry must carry its plan
 * line, all of one plan, in order, and the plan's id must match the images (so a cut or edited matrix is refused).
 * An empty matrix plans nothing: undefined.
 */
export function parsePlanInput(text: string): Plan | undefined {
  const fix = "pass the discover job's matrix unchanged (plan: ${{ needs.<discover job>.outputs.matrix }})";
  const refuse = (why: string) => new ConfigurationError(`\`plan\` ${why}; ${fix}.`, 'plan');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw refuse('is not JSON');
  }
  const parsed = matrixSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw refuse(`is not a discover matrix (${issue.path.join('.') || 'top level'}: ${issue.message})`);
  }
  const entries = parsed.data.include;
  if (entries.length === 0) return undefined;
  let id: string | undefined;
  const shards: Plan['shards'] = entries.map((entry, i) => {
    const [header, ...more] = headersIn(entry.images);
    if (header === undefined || typeof header === 'string' || more.length > 0) {
      throw refuse(`entry ${i + 1} has no single valid plan line (a matrix from an older version?)`);
    }
    id ??= header.id;
    if (header.id !== id || header.shard !== i + 1 || header.shards !== entries.length) {
      throw refuse(
        `entry ${i + 1} says "${shardHeader(header)}", not shard ${i + 1}/${entries.length} of plan ${id}`,
      );
    }
    return { shard: i + 1, images: splitList(entry.images) };
  });
  const plan = makePlan(shards);
  if (plan.id !== id) {
    throw refuse(`names plan ${id}, but its images make plan ${plan.id} (edited or cut short?)`);
  }
  return plan;
}
