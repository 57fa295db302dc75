import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from '../src/infra/exec.js';
import { projectRoot } from './paths.js';

// The SARIF Multitool (npm @microsoft/sarif-multitool-linux) as a test oracle: `validate --rule-kind "Gh;Sarif"`
// runs the SARIF schema and spec rules plus GitHub's ingestion rules (GH1xxx/GH2xxx). Its findings come back as a
// SARIF log of their own, which is parsed here into messages.

export const multitoolPath = path.join(
  projectRoot,
  'node_modules',
  '@microsoft',
  'sarif-multitool-linux',
  'Sarif.Multitool',
);

export interface SarifValidation {
  errors: string[];
  warnings: string[];
}

export async function validateSarif(file: string): Promise<SarifValidation> {
  const [only] = await validateSarifFiles([file]);
  return only;
}

/**
 * Validates several files with one start of the tool (it takes seconds to start, and minutes on big files), and
 * returns one validation per file, in order. Notes (style advice such as "consider message arguments") are not
 * asked for: only errors and warnings.
 */
export async function validateSarifFiles(files: readonly string[], timeoutMs = 600_000): Promise<SarifValidation[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-sarif-validate-'));
  try {
    // The tool silently skips files that do not end in .sarif ("invalid target"): give it copies that do.
    const inputs = files.map((file, index) => {
      if (file.endsWith('.sarif')) return path.resolve(file);
      const copy = path.join(dir, `input-${index}.sarif`);
      fs.copyFileSync(file, copy);
      return copy;
    });
    const output = path.join(dir, 'validation.sarif');
    const result = await runProcess({
      command: multitoolPath,
      args: [
        'validate',
        '--rule-kind',
        'Gh;Sarif',
        '--level',
        'Error;Warning',
        '--log',
        'ForceOverwrite',
        '--output',
        output,
        ...inputs,
      ],
      // The .NET single-file host needs a writable home for its extraction cache; keep telemetry off.
      env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
      timeoutMs,
    });
    if (result.timedOut) throw new Error(`Sarif.Multitool timed out after ${timeoutMs} ms`);
    if (!fs.existsSync(output)) {
      throw new Error(
        `Sarif.Multitool wrote no output (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`.trim(),
      );
    }
    return parseValidation(JSON.parse(fs.readFileSync(output, 'utf8')) as ValidationLog, inputs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface ValidationLog {
  runs?: {
    tool?: {
      driver?: {
        rules?: { id: string; defaultConfiguration?: { level?: string }; messageStrings?: Record<string, { text: string }> }[];
      };
    };
    results?: {
      ruleId?: string;
      ruleIndex?: number;
      level?: string;
      message?: { text?: string; id?: string; arguments?: string[] };
      locations?: { physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } } }[];
    }[];
    invocations?: {
      executionSuccessful?: boolean;
      toolExecutionNotifications?: { level?: string; message?: { text?: string } }[];
      toolConfigurationNotifications?: { level?: string; message?: { text?: string } }[];
    }[];
  }[];
}

function parseValidation(log: ValidationLog, inputs: readonly string[]): SarifValidation[] {
  const perFile = inputs.map((): SarifValidation => ({ errors: [], warnings: [] }));
  const indexOf = new Map(inputs.map((file, index) => [path.resolve(file), index]));
  const everyFile = (bucket: 'errors' | 'warnings', message: string) => {
    for (const v of perFile) v[bucket].push(message);
  };

  for (const run of log.runs ?? []) {
    const rules = run.tool?.driver?.rules ?? [];
    const ruleById = new Map(rules.map((r) => [r.id, r]));
    for (const result of run.results ?? []) {
      const rule = (result.ruleIndex !== undefined ? rules[result.ruleIndex] : undefined) ?? ruleById.get(result.ruleId ?? '');
      const level = result.level ?? rule?.defaultConfiguration?.level ?? 'warning';
      const template = result.message?.id ? rule?.messageStrings?.[result.message.id]?.text : undefined;
      const args = result.message?.arguments ?? [];
      const text =
        result.message?.text ??
        (template ? template.replace(/\{(\d+)\}/g, (_, i: string) => args[Number(i)] ?? '') : args.join(' | '));
      const where = result.locations?.[0]?.physicalLocation;
      const uri = where?.artifactLocation?.uri;
      const line = where?.region?.startLine;
      const message = `${result.ruleId ?? '?'} (line ${line ?? '?'}): ${text}`;
      const bucket = level === 'error' ? 'errors' : level === 'warning' ? 'warnings' : undefined;
      if (!bucket) continue;
      const index = uri?.startsWith('file:') ? indexOf.get(path.resolve(fileURLToPath(uri))) : undefined;
      if (index === undefined) everyFile(bucket, message);
      else perFile[index][bucket].push(message);
    }
    for (const invocation of run.invocations ?? []) {
      const notifications = [
        ...(invocation.toolExecutionNotifications ?? []),
        ...(invocation.toolConfigurationNotifications ?? []),
      ];
      for (const n of notifications) {
        if (n.level === 'error') everyFile('errors', `Sarif.Multitool: ${n.message?.text ?? 'error'}`);
      }
      if (invocation.executionSuccessful === false && notifications.length === 0) {
        everyFile('errors', 'Sarif.Multitool: execution was not successful');
      }
    }
  }
  return perFile;
}
