/**
 * The composition root's public surface: one infergate process (InfergateProcess) and the two
 * commands built on it, `serve` (manifests from files) and `demo` (simulated replicas).
 */

export { type DemoOptions, demoManifests, runDemo } from './demo.js';
export { type EppRunOptions, runEpp } from './epp.js';
export { InfergateProcess, type ProcessOptions } from './process.js';
export {
  type PlanLoadResult,
  readyLines,
  runServe,
  type ServeHandle,
  type ServeOptions,
  startServe,
} from './serve.js';
