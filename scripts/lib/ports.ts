import net from 'node:net';

/** `preferred` if it is free on 127.0.0.1, else any free port. */
export async function freePort(preferred = 0): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        const got = typeof addr === 'object' && addr ? addr.port : undefined;
        srv.close(() => resolve(got));
      });
    });
  return (preferred ? await tryPort(preferred) : undefined) ?? (await tryPort(0)) ?? 0;
}
