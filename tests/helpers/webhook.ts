import { createServer, type Server } from 'node:http';

/**
 * A local HTTP server that stands in for a webhook (Discord's, Slack's, anyone's):
 * keeps every JSON body it is sent, and answers with the next of `answers`
 * (then 204). `hang: true` takes requests and never answers.
 */
export async function startWebhook(answers: { status: number; headers?: Record<string, string> }[] = [], { hang = false } = {}) {
  const bodies: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      bodies.push(JSON.parse(data) as Record<string, unknown>);
      if (hang) return;
      const answer = answers.shift() ?? { status: 204 };
      res.writeHead(answer.status, answer.headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/api/webhooks/1/secret`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
