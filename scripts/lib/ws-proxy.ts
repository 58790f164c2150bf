/**
 * A local WebSocket → TCP proxy so that `@neondatabase/serverless` inside workerd can reach a
 * plain Postgres (or PGlite's socket server). Loopback targets only. See POSTGRES-LOCAL.md.
 *
 * `startWsProxy` is the plain proxy (dev server, tests, benches). `startSwitchableWsProxy` is the
 * same proxy with an off switch, for the outage tests (test/outage/, test/helpers/outage.ts):
 * switched down it cuts every open connection and refuses new ones, so the worker's database
 * calls really fail, while Postgres itself (and every other proxy in front of it) stays up.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]); // 'X' Int32(4): the client says goodbye
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface WsProxy {
  /** `ws://127.0.0.1:<port>` (the driver appends `/v1?address=host:port`). */
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Bridge {
  ws: WebSocket;
  tcp: net.Socket;
}

/** Pipes one client WebSocket to the Postgres it asks for; `null` if the target is refused. */
function bridge(ws: WebSocket, req: IncomingMessage, onEnd: (b: Bridge) => void): Bridge | null {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const address = url.searchParams.get('address') ?? '';
  const sep = address.lastIndexOf(':');
  const host = address.slice(0, sep);
  const targetPort = Number(address.slice(sep + 1));
  if (url.pathname !== '/v1' || !LOOPBACK.has(host) || !Number.isInteger(targetPort)) {
    ws.close(1008, 'only loopback Postgres targets are allowed');
    return null;
  }
  const tcp = net.connect({ host, port: targetPort });
  const pair = { ws, tcp };
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
    onEnd(pair);
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
  return pair;
}

function listen(server: Server | WebSocketServer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('listening', () => resolve((server.address() as AddressInfo).port));
    server.once('error', reject);
  });
}

export async function startWsProxy(port = 0): Promise<WsProxy> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  const sockets = new Set<net.Socket>();
  wss.on('connection', (ws, req) => {
    const pair = bridge(ws, req, (p) => sockets.delete(p.tcp));
    if (pair) sockets.add(pair.tcp);
  });
  const actual = await listen(wss);
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

/**
 * How a switched-down proxy treats a new connection:
 * - `close`: it accepts the WebSocket and closes it at once (code 1011), as Neon's proxy does when
 *   the Postgres behind it refuses the connection;
 * - `reject`: it answers the upgrade HTTP 503, as a proxy with nothing healthy behind it;
 * - `reset`: it drops the TCP connection before the WebSocket handshake, as if nothing listened.
 *
 * Either way every connection that was open when it went down is cut (TCP destroyed, WebSocket
 * terminated without a close frame).
 */
export type OutageMode = 'close' | 'reject' | 'reset';

export interface OutageState {
  down: boolean;
  /** How new connections are refused while down; null while up. */
  mode: OutageMode | null;
  /** Connections open through the proxy right now. */
  open: number;
  /** Connections accepted and bridged to Postgres since the proxy started. */
  accepted: number;
  /** Connection attempts refused while down, since the proxy started. */
  refused: number;
  /** Open connections cut by switching down, since the proxy started. */
  cut: number;
}

export interface SwitchableWsProxy extends WsProxy {
  /** `http://127.0.0.1:<port>`: `POST /down[?mode=…]`, `POST /up`, `GET /state`. */
  controlUrl: string;
  /** Cuts every open connection and refuses new ones until {@link up}. Idempotent. */
  down(mode?: OutageMode): OutageState;
  /** Accepts connections again. Idempotent. */
  up(): OutageState;
  state(): OutageState;
}

/**
 * A {@link startWsProxy} that can be switched down and up, by method or over HTTP on a second
 * loopback port (`controlUrl`), so that code inside workerd can switch it too:
 *
 *   POST /down             → cut open connections, refuse new ones (mode `close`)
 *   POST /down?mode=reject → the same, refusing with HTTP 503 (or `mode=reset`: {@link OutageMode})
 *   POST /up               → accept again
 *   GET  /state            → {@link OutageState}
 *
 * Each answers 200 with the state as JSON once the switch has taken effect.
 */
export async function startSwitchableWsProxy(port = 0): Promise<SwitchableWsProxy> {
  const wss = new WebSocketServer({ noServer: true });
  const bridges = new Set<Bridge>();
  const pendingUpgrades = new Set<Duplex>();
  let mode: OutageMode | null = null;
  const counts = { accepted: 0, refused: 0, cut: 0 };

  const state = (): OutageState => ({
    down: mode !== null,
    mode,
    open: bridges.size,
    ...counts,
  });

  const refuse = (socket: Duplex, req: IncomingMessage, head: Buffer) => {
    counts.refused += 1;
    if (mode === 'reset') {
      socket.destroy();
      return;
    }
    if (mode === 'reject') {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(1011, 'Postgres is down (outage test)'));
  };

  const proxy = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n');
  });
  proxy.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (mode !== null) return refuse(socket, req, head);
    pendingUpgrades.add(socket);
    wss.handleUpgrade(req, socket, head, (ws) => {
      pendingUpgrades.delete(socket);
      if (mode !== null) {
        counts.refused += 1;
        ws.terminate();
        return;
      }
      const pair = bridge(ws, req, (p) => bridges.delete(p));
      if (!pair) return;
      counts.accepted += 1;
      bridges.add(pair);
      ws.on('close', () => bridges.delete(pair));
    });
  });

  const down = (next: OutageMode = 'close'): OutageState => {
    mode = next;
    for (const socket of pendingUpgrades) socket.destroy();
    pendingUpgrades.clear();
    for (const pair of bridges) {
      counts.cut += 1;
      pair.tcp.destroy();
      pair.ws.terminate();
    }
    bridges.clear();
    return state();
  };
  const up = (): OutageState => {
    mode = null;
    return state();
  };

  const control = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://control');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /state') return reply(200, state());
    if (route === 'POST /up') return reply(200, up());
    if (route === 'POST /down') {
      const m = url.searchParams.get('mode') ?? 'close';
      if (m !== 'close' && m !== 'reject' && m !== 'reset')
        return reply(400, { error: `unknown mode ${m}` });
      return reply(200, down(m));
    }
    reply(404, { error: `${route}: use POST /down, POST /up or GET /state` });
  });

  proxy.listen(port, '127.0.0.1');
  control.listen(0, '127.0.0.1');
  const [actual, controlPort] = await Promise.all([listen(proxy), listen(control)]);
  const closeServer = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));
  return {
    url: `ws://127.0.0.1:${actual}`,
    port: actual,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    down,
    up,
    state,
    async close() {
      down('reset');
      for (const c of wss.clients) c.terminate();
      proxy.closeAllConnections();
      control.closeAllConnections();
      await Promise.all([
        closeServer(proxy),
        closeServer(control),
        new Promise<void>((resolve) => wss.close(() => resolve())),
      ]);
    },
  };
}
