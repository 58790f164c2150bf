type AzotteWorkerEnv = import('../src/env').Env;

declare namespace Cloudflare {
  interface Env extends AzotteWorkerEnv {
    /** Tests only (vitest.config.ts): the base's probe object, test/worker/probe.ts. */
    PROBE: DurableObjectNamespace<import('./worker/probe').ProbeDurableObject>;
  }
}
