/**
 * The REST client sends a request once more when the kept-alive socket it reused had been closed by
 * the server (the request never arrived), and never retries otherwise.
 */
import * as net from 'node:net';
import { KubeClient } from '../lib/operator/client';

const OK =
  'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: keep-alive\r\n\r\n{"ok":true}';

/**
 * A server that answers the first request on each connection and then, like a server whose idle
 * timeout has passed, resets the connection when a second request arrives on it. `resetFirst`
 * resets a connection's first request instead (a server that failed, not a stale socket).
 */
async function server(options: { resetFirst?: boolean } = {}) {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    let requests = 0;
    socket.on('data', (chunk) => {
      if (!chunk.toString().includes('\r\n\r\n')) return;
      requests++;
      if (requests === 1 && !options.resetFirst) socket.write(OK);
      else socket.resetAndDestroy();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  const client = new KubeClient({
    server: `http://127.0.0.1:${port}`,
    credentials: async () => ({ tls: {}, headers: {} }),
  });
  const close = () => {
    // The client keeps its sockets alive; the server would wait for them.
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => srv.close(resolve));
  };
  return { client, connections: () => connections, close };
}

describe('KubeClient on a kept-alive socket the server has closed', () => {
  it('sends the request again on a new connection and returns its answer', async () => {
    const s = await server();
    try {
      expect(await s.client.request('get', 'GET', '/a', 'test')).toEqual({ ok: true });
      // The second request goes out on the kept-alive socket, which the server resets.
      expect(await s.client.request('apply', 'PATCH', '/b', 'test', { body: { x: 1 } })).toEqual({
        ok: true,
      });
      expect(s.connections()).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('does not retry a reset on a new connection: that request may have been read', async () => {
    const s = await server({ resetFirst: true });
    try {
      await expect(s.client.request('get', 'GET', '/a', 'test')).rejects.toThrow(/ECONNRESET|socket hang up/);
      expect(s.connections()).toBe(1);
    } finally {
      await s.close();
    }
  });
});
