/**
 * @farmer/runtime: one way to open a FARMER model for inference, used by
 * the CLI and the server.
 */
export { loadRunnerWithStudent, type LoadRunnerWithStudentOptions, type TfRunnerWithStudent } from './student-runner.js';
