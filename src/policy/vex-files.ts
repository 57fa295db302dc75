import path from 'node:path';
import picomatch from 'picomatch';
import { glob } from 'tinyglobby';
import { ConfigurationError } from '../errors.js';
import { locateRepositoryFile, quotePath, readRepositoryFile } from '../infra/workspace-files.js';
import type { IgnoreRule } from './ignore-rules.js';
import { parseVexDocument } from './vex.js';

// The `vex` input's files and globs. VEX documents are repository content, so untrusted: every match is read
// through infra/workspace-files (inside the workspace, no symlink out, size-capped), globs never walk symlinks,
// and the number of documents is bounded.

/** More documents than anyone keeps for one scan is a glob that matched too much. */
const MAX_VEX_DOCUMENTS = 200;

/** Reads every VEX document the patterns name, in a stable order, and returns their suppressing statements. */
export async function loadVexDocuments(
  patterns: readonly string[],
  workspace: string,
): Promise<IgnoreRule[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const matched = picomatch.scan(pattern).isGlob
      ? (
          await glob([pattern], {
            cwd: workspace,
            ignore: ['**/node_modules/**', '**/.git/**'],
            dot: true,
            onlyFiles: true,
            followSymbolicLinks: false,
            expandDirectories: false,
          })
        )
          .map((f) => f.split(path.sep).join('/'))
          .sort()
      : [pattern];
    if (matched.length === 0) {
      throw new ConfigurationError(
        `\`vex\`: ${quotePath(pattern)} matches no file in the workspace; give paths or globs of VEX documents relative to the repository root.`,
        'vex',
      );
    }
    for (const f of matched) files.add(f);
  }
  if (files.size > MAX_VEX_DOCUMENTS) {
    throw new ConfigurationError(
      `\`vex\`: the patterns match ${files.size} files, more than ${MAX_VEX_DOCUMENTS}; name the VEX documents more precisely.`,
      'vex',
    );
  }
  const rules: IgnoreRule[] = [];
  for (const file of files) {
    // Checked again for each match: a symlinked directory in a glob's literal part is walked by the OS.
    const found = await locateRepositoryFile(workspace, file, 'vex');
    if (!found) {
      throw new ConfigurationError(
        `\`vex\`: ${quotePath(file)} does not exist; give a path relative to the repository root, or \`repo\` / \`oci\` for Trivy's own VEX sources.`,
        'vex',
      );
    }
    rules.push(...parseVexDocument(await readRepositoryFile(found, 'vex'), file).rules);
  }
  return rules;
}
