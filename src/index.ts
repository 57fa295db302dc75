import * as core from '@actions/core';
import { run } from './main.js';
import { runPost } from './post.js';

// One bundle for both steps: the runner runs dist/index.js for `main` and again for `post`; the state saved by
// main (`isPost`) tells them apart, as actions/checkout does.
if (core.getState('isPost') === 'true') {
  await runPost();
} else {
  core.saveState('isPost', 'true');
  await run();
}
