import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

export default defineConfig(packageBuildConfig());
