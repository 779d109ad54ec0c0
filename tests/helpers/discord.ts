import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FakeDiscordAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A local HTTP server that answers GET /api/v10/gateway/bot like Discord: point
 * `proxy` at it. Answers are served in order; the last one repeats.
 */
export async function startFakeDiscord(answers: FakeDiscordAnswer[]) {
  const requests: { path: string; authorization: string | undefined; at: number }[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization, at: Date.now() });
    if (req.url !== '/api/v10/gateway/bot') {
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
