import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createHttpClient } from '../../src/infra/http.js';

// Self-hosted runners reach registries through HTTP(S)_PROXY; Node's built-in fetch would ignore it.

let target: http.Server;
let proxy: http.Server;
const proxied: string[] = [];

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  target = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  // A forward proxy: the request line carries the absolute URL.
  proxy = http.createServer((req, res) => {
    proxied.push(req.url ?? '');
    const url = new URL(req.url ?? '');
    const upstream = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  // undici tunnels every request through CONNECT, as proxies for HTTPS registries require.
  proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    proxied.push(`CONNECT ${req.url ?? ''}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  const [, proxyHost] = await Promise.all([listen(target), listen(proxy)]);
  process.env.HTTP_PROXY = `http://${proxyHost}`;
  process.env.NO_PROXY = '';
  process.env.no_proxy = '';
});

afterAll(() => {
  delete process.env.HTTP_PROXY;
  delete process.env.NO_PROXY;
  delete process.env.no_proxy;
  target.close();
  proxy.close();
});

test('requests go through HTTP_PROXY when it is set', async () => {
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/v2/_catalog?n=10`;
  const res = await createHttpClient()({ url: targetUrl, attempts: 1 });
  expect(res.status).toBe(200);
  expect(res.json()).toEqual({ path: '/v2/_catalog?n=10' });
  expect(proxied).toHaveLength(1);
  expect([targetUrl, `CONNECT ${new URL(targetUrl).host}`]).toContain(proxied[0]);
});
