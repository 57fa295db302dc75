import type { Origin } from '../../model.js';

// What a per-format parser reports for one file; file-references.ts turns these into Targets.

/** An image reference as written in a file, variables already substituted. */
interface FoundReference {
  image: string;
  origin: Origin;
  /** `--platform` of a Dockerfile FROM, when it is a fixed value. */
  platform?: string;
  /** The text as written, when variables were substituted: what messages show if the result is not an image. */
  written?: string;
}

/** A reference that cannot be known without guessing (`${VAR}` with no default, `${{ expr }}`). */
export interface UnresolvedReference {
  text: string;
  reason: string;
  origin: Origin;
}

export interface FileFindings {
  found: FoundReference[];
  unresolved: UnresolvedReference[];
  /** Why the file (or, with `line`, the rest of it from there) was passed over: YAML that does not parse, a template. */
  skipped?: { reason: string; level: 'debug' | 'warning'; line?: number };
}
