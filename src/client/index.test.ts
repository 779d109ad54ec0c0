import { describe, expect, it } from 'vitest';
import { clusterInfo } from './index.js';

describe('clusterInfo', () => {
  it('reads the MEWLD_* environment', () => {
    expect(
      clusterInfo(
        {
          MEWLD_CLUSTER_ID: '3',
          MEWLD_CLUSTER_NAME: 'Delta',
          MEWLD_SHARDS: '[6, 7]',
          MEWLD_SHARD_COUNT: '8',
          MEWLD_CLUSTER_COUNT: '4',
          MEWLD_BUS: 'redis',
          MEWLD_CHANNEL: 'bot',
        },
        ['node', 'cluster.js'],
        false,
      ),
    ).toEqual({ id: 3, name: 'Delta', shards: [6, 7], shardCount: 8, clusterCount: 4, workDir: null, bus: 'redis', channel: 'bot' });
  });

  it('reads argv in the Go order when started by the Go mewld', () => {
    expect(
      clusterInfo({ MEWLD_CHANNEL: 'mewbot' }, ['node', '/bot/cluster.js', '[0, 1, 2]', '9', '0', 'Ayame', '0', '/bot'], false),
    ).toEqual({
      id: 0,
      name: 'Ayame',
      shards: [0, 1, 2],
      shardCount: 9,
      clusterCount: null,
      workDir: '/bot',
      bus: 'redis',
      channel: 'mewbot',
    });
  });

  it('says what is missing when the process was not started by mewld', () => {
    expect(() => clusterInfo({}, ['node', 'bot.js'], false)).toThrow(/no cluster id .* is this process started by mewld\?/);
  });
});
