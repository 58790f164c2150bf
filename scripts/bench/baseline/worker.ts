/**
 * The bench's baseline: a bare Hono app with one JSON route, same Hono version, compatibility
 * settings and Miniflare setup as the real worker. Every other target is compared to it.
 */
import { Hono } from 'hono';

const app = new Hono();
app.get('/v1/hello', (c) => c.json({ ok: true, message: 'hello from the baseline' }));

export default app;
