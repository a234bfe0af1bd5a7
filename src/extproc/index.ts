/** The `epp` front door (Envoy ext_proc endpoint picker) and Envoy bootstrap generation. */
export { type EnvoyConfigOptions, envoyBootstrap } from './envoy-config.js';
export { type EppAddresses, type EppOptions, EppServer } from './server.js';
