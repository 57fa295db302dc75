/** GitHub shows at most this many annotations of each level (error, warning, notice) per step and drops the rest. */
export const GITHUB_ANNOTATIONS_PER_LEVEL = 10;
