/** @farmer/cli: the `farmer` command. Its commands are thin layers over the farmer packages. */
export { buildProgram, run } from './program.js';
export { describeError, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, UsageError } from './errors.js';
