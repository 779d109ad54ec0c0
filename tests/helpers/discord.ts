import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FakeDiscordAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A local HTTP server that answers GET /api/gateway/bot as a proxy in front of
 * Discord does (nirn-proxy, twilight-http-proxy): point `proxy` at it. Answers are served in order; the last one repeats.
 */
export async function startFakeDiscord(answers: FakeDiscordAnswer[]) {
  const requests: { path: string; authorization: string | undefined; at: number }[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization, at: Date.now() });
    if (req.url !== '/api/gateway/bot') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"404: Not Found","code":0}');
      return;
    }
    const answer = answers[Math.min(requests.filter((r) => r.path === req.url).length - 1, answers.length - 1)]!;
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A local stand-in for Discord's OAuth2 (POST /api/oauth2/token) and
 * GET /api/users/@me: each code in `users` stands for the Discord user id it
 * maps to; a token exchange needs `clientSecret`. Point oauth.discord_url at it.
 */
export async function startFakeDiscordOAuth(users: Record<string, string>, clientSecret = 'the-secret') {
  const exchanged: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/oauth2/token') {
        const form = new URLSearchParams(body);
        exchanged.push(form);
        const user = users[form.get('code') ?? ''];
        if (!user || form.get('client_secret') !== clientSecret) return void res.writeHead(400).end('{"error":"invalid_grant"}');
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: `token-of-${user}`, token_type: 'Bearer' }));
      } else if (req.method === 'GET' && req.url === '/api/users/@me') {
        const id = /^Bearer token-of-(\d+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!id) return void res.writeHead(401).end('{}');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, username: `user${id}` }));
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    exchanged,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
