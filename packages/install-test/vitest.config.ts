import { defineProject } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.mjs';

// The install test's steps share one installed project and run in order; nx may run other
// packages' tests beside it on two cores, so its own steps carry generous timeouts.
export default defineProject(packageTestConfig({ fileParallelism: false }));
