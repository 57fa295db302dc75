// The subset of SARIF 2.1.0 the action writes (OASIS sarif-schema-2.1.0). Plain data, so the publisher can
// JSON.stringify it and tests can read it back.

export const SARIF_VERSION = '2.1.0';
export const SARIF_SCHEMA =
  'https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json';

export type SarifLevel = 'error' | 'warning' | 'note' | 'none';

interface SarifMessage {
  text: string;
}

interface SarifMultiformatMessage {
  text: string;
  markdown?: string;
}

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: SarifMessage;
  fullDescription: SarifMessage;
  defaultConfiguration: { level: SarifLevel };
  helpUri?: string;
  help: SarifMultiformatMessage;
  properties: {
    precision: 'very-high';
    'security-severity': string;
    tags: string[];
  };
}

interface SarifRegion {
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
}

export interface SarifLocation {
  physicalLocation: {
    artifactLocation: { uri: string; uriBaseId: string };
    region: SarifRegion;
  };
}

export interface SarifSuppression {
  kind: 'external';
  status: 'accepted';
  justification?: string;
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: SarifMessage;
  locations: SarifLocation[];
  partialFingerprints: Record<string, string>;
  suppressions?: SarifSuppression[];
}

interface SarifToolComponent {
  name: string;
  fullName?: string;
  version?: string;
  informationUri?: string;
  rules?: SarifRule[];
}

interface SarifNotification {
  level: SarifLevel;
  message: SarifMessage;
  descriptor: { id: string };
}

interface SarifInvocation {
  executionSuccessful: boolean;
  toolExecutionNotifications?: SarifNotification[];
}

export interface SarifRun {
  tool: { driver: SarifToolComponent };
  /** Image Scan Gate converted Trivy's JSON report into this run (SARIF §3.22). */
  conversion: { tool: { driver: SarifToolComponent } };
  automationDetails: { id: string };
  invocations?: SarifInvocation[];
  results: SarifResult[];
  columnKind: 'utf16CodeUnits';
  properties: {
    /** The image scanned; absent in a run that only closes a category's alerts (prune-categories). */
    imageName?: string;
    /** Every image of a run that merges several tags of one repository. */
    imageNames?: string[];
    repoDigests?: string[];
    imageID?: string;
  };
}

export interface SarifLog {
  version: typeof SARIF_VERSION;
  $schema: string;
  runs: SarifRun[];
}
