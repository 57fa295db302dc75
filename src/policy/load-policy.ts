import type { Config } from '../config.js';
import { effectivePolicy, type EffectivePolicy } from './effective-policy.js';
import { loadIgnoreFiles } from './ignore-files.js';
import type { IgnoreRule } from './ignore-rules.js';
import { loadPolicyFile } from './policy-file.js';
import { loadVexDocuments } from './vex-files.js';

export interface LoadedPolicy {
  policy: EffectivePolicy;
  /**
   * The policy file's `ignore:` entries first, then the ignore file's, each with its file:line, then the VEX
   * statements that suppress (not_affected, fixed), each with its document and statement.
   */
  ignores: IgnoreRule[];
}

/**
 * Reads the policy file and the ignore file and combines them with the inputs. Call it before any scan: a
 * malformed file is a ConfigurationError that stops the run at once.
 */
export async function loadGatePolicy(
  config: Pick<Config, 'policyFile' | 'ignoreFiles' | 'vexFiles' | 'gate' | 'workspace'>,
): Promise<LoadedPolicy> {
  const file = config.policyFile ? await loadPolicyFile(config.policyFile, config.workspace) : undefined;
  const fromIgnoreFile = await loadIgnoreFiles(config.ignoreFiles, config.workspace);
  // Applied here, after any result reuse, never baked into stored results: a cached result cannot carry a
  // suppression from an older version of a document, so the reuse key needs no document hashes.
  const fromVex = await loadVexDocuments(config.vexFiles ?? [], config.workspace);
  return {
    policy: effectivePolicy(file, config.gate),
    ignores: [...(file?.ignore ?? []), ...fromIgnoreFile, ...fromVex],
  };
}
