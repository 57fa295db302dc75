import type { Config } from '../config.js';
import { effectivePolicy, type EffectivePolicy } from './effective-policy.js';
import { loadIgnoreFiles } from './ignore-files.js';
import type { IgnoreRule } from './ignore-rules.js';
import { loadPolicyFile } from './policy-file.js';

export interface LoadedPolicy {
  policy: EffectivePolicy;
  /** The policy file's `ignore:` entries first, then the ignore file's, each with its file:line. */
  ignores: IgnoreRule[];
}

/**
 * Reads the policy file and the ignore file and combines them with the inputs. Call it before any scan: a
 * malformed file is a ConfigurationError that stops the run at once.
 */
export async function loadGatePolicy(
  config: Pick<Config, 'policyFile' | 'ignoreFiles' | 'gate' | 'workspace'>,
): Promise<LoadedPolicy> {
  const file = config.policyFile ? await loadPolicyFile(config.policyFile, config.workspace) : undefined;
  const fromIgnoreFile = await loadIgnoreFiles(config.ignoreFiles, config.workspace);
  return {
    policy: effectivePolicy(file, config.gate),
    ignores: [...(file?.ignore ?? []), ...fromIgnoreFile],
  };
}
