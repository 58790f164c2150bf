/**
 * A local WebSocket → TCP proxy so that `@neondatabase/serverless` inside workerd can reach a
 * plain Postgres (or PGlite's socket server). Loopback targets only. See POSTGRES-LOCAL.md.
 */

import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { WebSocketServer } from 'ws';

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]); // 'X' Int32(4): the client says goodbye
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface WsProxy {
  /** `ws://127.0.0.1:<port>` (the driver appends `/v1?address=host:port`). */
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startWsProxy(port = 0): Promise<WsProxy> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  const sockets = new Set<net.Socket>();
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const address = url.searchParams.get('address') ?? '';
    const sep = address.lastIndexOf(':');
    const host = address.slice(0, sep);
    const targetPort = Number(address.slice(sep + 1));
    if (url.pathname !== '/v1' || !LOOPBACK.has(host) || !Number.isInteger(targetPort)) {
      ws.close(1008, 'only loopback Postgres targets are allowed');
      return;
    }
    const tcp = net.connect({ host, port: targetPort });
    sockets.add(tcp);
    tcp.setNoDelay(true);
    const pending: Buffer[] = [];
    let connected = false;
    tcp.on('connect', () => {
      connected = true;
      for (const chunk of pending) tcp.write(chunk);
      pending.length = 0;
    });
    tcp.on('data', (data) => {
      if (ws.readyState === ws.OPEN) ws.send(data);
    });
    tcp.on('close', () => {
      sockets.delete(tcp);
      ws.close();
    });
    tcp.on('error', () => ws.close());
    ws.on('message', (data: Buffer) => {
      const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (!connected) pending.push(chunk);
      else tcp.write(chunk);
      // PGlite waits for the client to hang up: end the TCP side on Terminate.
      if (chunk.length === 5 && chunk.equals(TERMINATE)) tcp.end();
    });
    ws.on('close', () => tcp.end());
    ws.on('error', () => tcp.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const actual = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
