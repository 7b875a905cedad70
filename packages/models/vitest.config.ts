import { defineProject } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.mjs';

export default defineProject(packageTestConfig());
