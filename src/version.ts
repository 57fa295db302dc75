/** This action's version, written into results files (a report job can tell which version wrote them). */
export const TOOL_VERSION = '0.1.0';
