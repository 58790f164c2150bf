import type { Env } from './env';

export interface Settings {
  environment: 'development' | 'test' | 'production';
  devGeoHeaders: boolean;
}

const cache = new WeakMap<object, Settings>();

/** Parsed once per isolate (per env object), not per request. */
export function settings(env: Env): Settings {
  let s = cache.get(env);
  if (!s) {
    const environment =
      env.ENVIRONMENT === 'production' || env.ENVIRONMENT === 'test'
        ? env.ENVIRONMENT
        : 'development';
    s = {
      environment,
      // Never honoured in production, whatever the var says.
      devGeoHeaders: environment !== 'production' && env.DEV_GEO_HEADERS === 'true',
    };
    cache.set(env, s);
  }
  return s;
}
