type AzotteWorkerEnv = import('../src/env').Env;

declare namespace Cloudflare {
  interface Env extends AzotteWorkerEnv {}
}
