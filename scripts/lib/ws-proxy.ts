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

/**
 * Turns for the one backend session PGlite gives all its connections (POSTGRES-LOCAL.md): a
 * connection holds the session from its first message until Postgres is ready for a query again
 * outside a transaction (ReadyForQuery `I`) with nothing outstanding; the others' messages wait.
 * Without it two connections' extended-protocol messages (Parse/Bind/Execute/Sync) and
 * transactions interleave in that one session ("prepared statement does not exist", writes of
 * one request inside another's transaction). A turn waited for longer than
 * {@link TURN_TIMEOUT_MS} is granted anyway, so a request that holds a transaction open while it
 * waits for a second connection cannot hang forever. Real Postgres needs none of this.
 */
class SessionTurns {
  private owner: object | null = null;
  private readonly queue: { who: object; grant: () => void; at: number }[] = [];

  request(who: object, grant: () => void): void {
    if (this.owner === null || this.owner === who) {
      this.owner = who;
      grant();
      return;
    }
    if (this.queue.some((q) => q.who === who)) return;
    this.queue.push({ who, grant, at: Date.now() });
    setTimeout(() => this.expire(), TURN_TIMEOUT_MS + 10).unref?.();
  }

  holds(who: object): boolean {
    return this.owner === who;
  }

  release(who: object): void {
    const i = this.queue.findIndex((q) => q.who === who);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.owner !== who) return;
    this.owner = null;
    const next = this.queue.shift();
    if (next) {
      this.owner = next.who;
      next.grant();
    }
  }

  private expire(): void {
    const now = Date.now();
    const first = this.queue[0];
    if (first && now - first.at >= TURN_TIMEOUT_MS) {
      this.queue.shift();
      this.owner = first.who;
      first.grant();
    }
  }
}

const TURN_TIMEOUT_MS = 5_000;

/** Counts the messages in a stream of Postgres protocol bytes (type byte + Int32 length). */
class MessageScanner {
  private buffer: Buffer = Buffer.alloc(0);
  /** The client's first message has no type byte (startup, or an SSL request). */
  constructor(private untyped: boolean) {}

  /** Each complete message's type (0 for the untyped startup) and first payload byte. */
  push(chunk: Buffer): { type: number; first: number; code?: number }[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: { type: number; first: number; code?: number }[] = [];
    for (;;) {
      if (this.untyped) {
        if (this.buffer.length < 8) break;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) break;
        out.push({ type: 0, first: 0, code: this.buffer.readInt32BE(4) });
        this.buffer = this.buffer.subarray(length);
        this.untyped = false;
        continue;
      }
      if (this.buffer.length < 5) break;
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) break;
      out.push({ type: this.buffer[0] ?? 0, first: this.buffer[5] ?? 0 });
      this.buffer = this.buffer.subarray(1 + length);
    }
    return out;
  }

  /** The next message is untyped again (after an SSL request was answered). */
  expectUntyped(): void {
    this.untyped = true;
  }

  /** Drops a single raw byte at the head (the server's answer to an SSL request). */
  takeByte(): void {
    this.buffer = this.buffer.subarray(1);
  }
}

const SSL_REQUEST = 80_877_103;
const Q = 0x51; // Query
const S = 0x53; // Sync
const Z = 0x5a; // ReadyForQuery
const IDLE = 0x49; // ReadyForQuery status: not in a transaction

/** Options of a proxy. */
export interface WsProxyOptions {
  /**
   * The target is PGlite, whose connections share one session: give them turns (see
   * {@link SessionTurns}). Off for a real Postgres.
   */
  oneSession?: boolean;
}

/** Pipes one client WebSocket to the Postgres it asks for; `null` if the target is refused. */
function bridge(
  ws: WebSocket,
  req: IncomingMessage,
  onEnd: (b: Bridge) => void,
  turns?: SessionTurns,
): Bridge | null {
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
  // Taking turns (PGlite): what the client sent while another connection had the session, and
  // how many answers it still waits for (one ReadyForQuery per Sync, Query or startup).
  const held: Buffer[] = [];
  const fromClient = new MessageScanner(true);
  const fromServer = new MessageScanner(false);
  let outstanding = 0;
  let sslAnswerDue = false;
  let lastStatus = IDLE;
  const forward = (chunk: Buffer) => {
    if (!connected) pending.push(chunk);
    else tcp.write(chunk);
  };
  const countClient = (chunk: Buffer) => {
    for (const m of fromClient.push(chunk)) {
      if (m.type === 0) {
        if (m.code === SSL_REQUEST) {
          sslAnswerDue = true;
          fromClient.expectUntyped();
        } else outstanding += 1; // startup: answered by the first ReadyForQuery
      } else if (m.type === S || m.type === Q) outstanding += 1;
    }
  };
  const flush = () => {
    while (held.length > 0) {
      const chunk = held.shift() as Buffer;
      countClient(chunk);
      forward(chunk);
    }
  };
  const release = () => turns?.release(pair);
  tcp.on('data', (data) => {
    if (ws.readyState === ws.OPEN) ws.send(data);
    if (!turns) return;
    let chunk = data;
    if (sslAnswerDue && chunk.length > 0) {
      sslAnswerDue = false; // one raw byte, 'N' or 'S'
      chunk = chunk.subarray(1);
    }
    for (const m of fromServer.push(chunk)) {
      if (m.type === Z) {
        outstanding = Math.max(0, outstanding - 1);
        lastStatus = m.first;
      }
    }
    if (outstanding === 0 && lastStatus === IDLE && held.length === 0) release();
  });
  tcp.on('close', () => {
    release();
    onEnd(pair);
    ws.close();
  });
  tcp.on('error', () => ws.close());
  ws.on('message', (data: Buffer) => {
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    // PGlite waits for the client to hang up: end the TCP side on Terminate.
    const terminate = chunk.length === 5 && chunk.equals(TERMINATE);
    if (terminate && turns) {
      // A goodbye needs no turn: it ends this connection's claim on the session.
      forward(chunk);
      tcp.end();
      release();
      return;
    }
    if (turns) {
      held.push(chunk);
      if (turns.holds(pair)) flush();
      else turns.request(pair, flush);
    } else forward(chunk);
    if (terminate) tcp.end();
  });
  ws.on('close', () => {
    release();
    tcp.end();
  });
  ws.on('error', () => {
    release();
    tcp.destroy();
  });
  return pair;
}

function listen(server: Server | WebSocketServer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('listening', () => resolve((server.address() as AddressInfo).port));
    server.once('error', reject);
  });
}

export async function startWsProxy(port = 0, options: WsProxyOptions = {}): Promise<WsProxy> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  const sockets = new Set<net.Socket>();
  const turns = options.oneSession ? new SessionTurns() : undefined;
  wss.on('connection', (ws, req) => {
    const pair = bridge(ws, req, (p) => sockets.delete(p.tcp), turns);
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
export async function startSwitchableWsProxy(
  port = 0,
  options: WsProxyOptions = {},
): Promise<SwitchableWsProxy> {
  const wss = new WebSocketServer({ noServer: true });
  const turns = options.oneSession ? new SessionTurns() : undefined;
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
      const pair = bridge(ws, req, (p) => bridges.delete(p), turns);
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
