import { defineProject } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.mjs';

// Browser tests share one Chromium and one page server: run the files one after another.
export default defineProject(packageTestConfig({ fileParallelism: false }));
