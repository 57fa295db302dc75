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

/**
 * Validates several files with one start of the tool (it takes seconds to start, and minutes on big files), and
 * returns one validation per file, in order. Notes (style advice such as "consider message arguments") are not
 * asked for: only errors and warnings.
 */
export async function validateSarifFiles(
  files: readonly string[],
  timeoutMs = 600_000,
): Promise<SarifValidation[]> {
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
    const config = path.join(dir, 'validation-config.xml');
    fs.writeFileSync(config, CONFIG);
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
        // By default files over 10,000 KB are skipped with only a warning: a 10 MB-gzipped SARIF is far larger.
        '--max-file-size-in-kb',
        String(4 * 1024 * 1024),
        '--config',
        config,
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

/**
 * SARIF2006 (UrisShouldBeReachable) sends an HTTP GET to every helpUri: a note-level style check that GitHub does not
 * make, and on a machine without internet access it spends minutes per file timing out. Off; every other rule runs.
 */
const CONFIG = `<?xml version="1.0" encoding="utf-8"?>
<Properties>
  <Properties Key="SARIF2006.UrisShouldBeReachable.Options">
    <Property Key="RuleEnabled" Value="Disabled" />
  </Properties>
</Properties>
`;
/** The tool's notice that SARIF2006 is off, as configured above. */
const RULE_DISABLED_NOTICE = 'WRN999.RuleExplicitlyDisabled';

interface ValidationLog {
  runs?: {
    tool?: {
      driver?: {
        rules?: {
          id: string;
          defaultConfiguration?: { level?: string };
          messageStrings?: Record<string, { text: string }>;
        }[];
      };
    };
    results?: {
      ruleId?: string;
      ruleIndex?: number;
      level?: string;
      message?: { text?: string; id?: string; arguments?: string[] };
      locations?: {
        physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } };
      }[];
    }[];
    invocations?: {
      executionSuccessful?: boolean;
      toolExecutionNotifications?: Notification[];
      toolConfigurationNotifications?: Notification[];
    }[];
  }[];
}

interface Notification {
  level?: string;
  message?: { text?: string };
  descriptor?: { id?: string };
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
      const rule =
        (result.ruleIndex !== undefined ? rules[result.ruleIndex] : undefined) ??
        ruleById.get(result.ruleId ?? '');
      const level = result.level ?? rule?.defaultConfiguration?.level ?? 'warning';
      const template = result.message?.id ? rule?.messageStrings?.[result.message.id]?.text : undefined;
      const args = result.message?.arguments ?? [];
      const text =
        result.message?.text ??
        (template
          ? template.replace(/\{(\d+)\}/g, (_, i: string) => args[Number(i)] ?? '')
          : args.join(' | '));
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
      // The tool's own troubles (a file skipped, unreadable JSON) mean a file was not validated: an error.
      // A notification without a level is a warning (SARIF §3.58.6), e.g. WRN997 "file skipped (size limit)".
      for (const n of notifications) {
        if (n.descriptor?.id === RULE_DISABLED_NOTICE) continue;
        const level = n.level ?? 'warning';
        if (level === 'error' || level === 'warning') {
          everyFile('errors', `Sarif.Multitool ${n.descriptor?.id ?? ''}: ${n.message?.text ?? level}`);
        }
      }
      if (invocation.executionSuccessful === false) {
        everyFile('errors', 'Sarif.Multitool: execution was not successful');
      }
    }
  }
  return perFile;
}
