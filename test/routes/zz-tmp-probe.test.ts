import { SELF } from 'cloudflare:test';
import { it } from 'vitest';
it('probe', async () => {
  const r = await SELF.fetch('https://x.test/openapi.json');
  console.log('STATUS', r.status, (await r.text()).slice(0, 1500));
});
