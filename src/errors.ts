/**
 * A mistake the user can fix (a bad input, a malformed policy file, a missing report). Kept apart from bugs so
 * the message is shown as-is, without a stack, and names the input and the fix.
 */
export class ConfigurationError extends Error {
  constructor(
    message: string,
    readonly input?: string,
  ) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
