/** The page of one workflow run (its attempt when known): linked from the summary, the comment and snapshots. */
export function workflowRunUrl(run: {
  serverUrl: string;
  repository: string; // owner/name
  runId?: string | number;
  runAttempt?: string | number;
}): string | undefined {
  if (run.runId === undefined || run.runId === '') return undefined;
  const base = `${run.serverUrl.trim().replace(/\/+$/, '')}/${run.repository}/actions/runs/${run.runId}`;
  return run.runAttempt !== undefined && run.runAttempt !== '' ? `${base}/attempts/${run.runAttempt}` : base;
}
