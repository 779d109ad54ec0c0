import type { ChildProcess } from 'node:child_process';
import { describeEntry, plain, type BusMessage, type SupervisorEntry } from '../../protocol/index.js';
import type { BusAdapter } from '../../interfaces/busAdapter.js';
import { actionLogWriter, busActor, listeners, type Sender, type Transport } from './busActor.js';
import type { Logger } from '../logger.js';

export interface IpcBusOptions {
  actionLogMax: number;
  /** Named in MEWLD_CHANNEL for clusters that log it; nothing travels on it. */
  channel: string;
  /**
   * ms (launch_timeout): when no cluster has said a word on this bus that long after the first
   * one started, it is surely a cluster written for the Go mewld, which talks over Redis: said once.
   */
  silenceMs?: number;
}

/**
 * The embedded bus, the default when the config has no `redis`: the
 * supervisor is the hub, each cluster talks to it over its Node IPC channel
 * (stdio 'ipc': newline-delimited JSON on the file descriptor named in
 * NODE_CHANNEL_FD). Messages are the same objects as on Redis. Messages with
 * scope "bot" are relayed to every other cluster; diagnostics and replies go
 * only to the cluster they concern. The action log is kept in memory, capped.
 */
export function createIpcBus(options: IpcBusOptions, logger: Logger): BusAdapter {
  const log = logger.child({ component: 'ipc' });
  const channels = new Map<number, ChildProcess>();
  const receivers = new Set<(message: unknown, from: Sender) => void>();
  /** Messages received so far: a barrier waits for an event-loop turn in which none came. */
  let received = 0;
  const actionLog: Record<string, unknown>[] = [];
  const actionLogListeners = listeners<Record<string, unknown>>();
  // As Redis's list is trimmed (LTRIM to the last action_log_max): the oldest go.
  const trimActionLog = () => {
    if (actionLog.length > options.actionLogMax) actionLog.splice(0, actionLog.length - options.actionLogMax);
  };

  const deliver = (id: number, child: ChildProcess, message: unknown) => {
    if (!child.connected) return;
    try {
      child.send(message as object, (err) => {
        if (err) log.debug({ cluster: id, err: err.message }, 'a message to a cluster was lost: its channel closed');
      });
    } catch (err) {
      log.debug({ cluster: id, err: (err as Error).message }, 'a message to a cluster was lost: its channel closed');
    }
  };

  const transport: Transport = {
    listen(onMessage, onStatus) {
      receivers.add(onMessage);
      // The embedded bus is up as long as the supervisor is.
      onStatus(true);
      return () => void receivers.delete(onMessage);
    },
    send(message, recipient) {
      const body = plain(message);
      if ('to' in recipient && recipient.to !== 'all') {
        const child = channels.get(recipient.to);
        if (child) deliver(recipient.to, child, body);
        return;
      }
      const except = 'toAllBut' in recipient ? recipient.toAllBut : undefined;
      for (const [id, child] of channels) if (id !== except) deliver(id, child, body);
    },
    writeActionLog(entry) {
      actionLog.push(plain(entry) as Record<string, unknown>);
      trimActionLog();
    },
    // Each cluster's messages wait in its pipe until the event loop reads them: what was sent
    // before now has been read once a whole turn of the loop passes with no message at all.
    barrier: () =>
      new Promise<void>((resolve) => {
        let seen = received;
        const check = () => {
          if (received === seen) return resolve();
          seen = received;
          setImmediate(check);
        };
        setImmediate(check);
      }),
  };

  let silenceWatch: NodeJS.Timeout | undefined;
  const watchForSilence = () => {
    if (silenceWatch !== undefined || options.silenceMs === undefined) return;
    silenceWatch = setTimeout(() => {
      if (received > 0) return;
      const entry: SupervisorEntry = {
        event: 'bus_silent',
        within_s: Math.round(options.silenceMs! / 1000),
        // In the entry itself, so that the dashboard and the alert webhook say it too.
        likely: 'clusters written for the Go mewld talk over Redis: set redis: host:port in the config',
      };
      log.error(describeEntry(entry));
      writeActionLog(entry);
    }, options.silenceMs);
    silenceWatch.unref();
  };
  const writeActionLog = actionLogWriter(transport, actionLogListeners.notify);

  return {
    kind: 'ipc',
    actor: busActor(transport, log, { onActionLog: actionLogListeners.notify }),
    link: {
      env: () => ({ MEWLD_BUS: 'ipc', MEWLD_CHANNEL: options.channel }),
      ipc: true,
      attach,
    },
    actionLog: {
      recent: async (limit = options.actionLogMax) => actionLog.slice(-limit),
      subscribe: actionLogListeners.subscribe,
      restore(entries) {
        actionLog.unshift(...entries.slice(-options.actionLogMax));
        trimActionLog();
      },
    },
    // As on Redis, the message is the supervisor's to read from nobody in particular; what is for the clusters (scope bot) reaches them all.
    async publish(raw) {
      for (const receiver of receivers) receiver(raw, undefined);
      try {
        const json = JSON.parse(raw) as { scope?: unknown };
        if (json?.scope === 'bot') transport.send(json as BusMessage, { to: 'all' });
      } catch {
        // not JSON: the bus says so when it reads it
      }
    },
    async close() {
      clearTimeout(silenceWatch);
      channels.clear();
    },
  };

  function attach(clusterId: number, child: ChildProcess) {
    watchForSilence();
    channels.set(clusterId, child);
    // Its own channel: whatever comes on it is this cluster's, proven.
    const from = { id: clusterId, proven: true };
    child.on('message', (message: unknown) => {
      received++;
      for (const receiver of receivers) receiver(message, from);
    });
    const detach = () => {
      if (channels.get(clusterId) === child) channels.delete(clusterId);
    };
    child.once('disconnect', detach);
    child.once('exit', detach);
  }
}
