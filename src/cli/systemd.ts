import { userInfo } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import type { LoadedConfig } from '../config/index.js';

/**
 * `mewld systemd`: a unit file that runs the supervisor on this config the
 * way production needs it. KillMode=control-group is the point: every
 * cluster process is in the unit's cgroup, so when the supervisor dies (even
 * by SIGKILL, or the OOM killer), systemd ends its clusters before it starts
 * the supervisor again, and no shard ever runs twice.
 */
export function systemdUnit(loaded: LoadedConfig, where: { node: string; cli: string }): string {
  const { config } = loaded;
  const file = resolve(loaded.file);
  const name = basename(file).replace(/\.ya?ml$/, '');
  const user = userInfo().username;
  const after = ['network-online.target', ...(config.redis !== undefined ? ['redis-server.service'] : [])].join(' ');
  return `# The mewld supervisor of ${file}: written by \`mewld systemd\`.
# Install:  mewld systemd --config ${file} | sudo tee /etc/systemd/system/mewld-${name}.service
#           sudo systemctl daemon-reload && sudo systemctl enable --now mewld-${name}
# Watch:    journalctl -u mewld-${name} -f        Operate: mewld status --config ${file}
[Unit]
Description=mewld: the Discord bot clusters of ${file}
After=${after}
Wants=network-online.target

[Service]
Type=simple
User=${user}
WorkingDirectory=${dirname(file)}
ExecStart=${where.node} ${where.cli} --config ${file}
# The journal's name for its lines (journalctl -t mewld-${name}), rather than "node".
SyslogIdentifier=mewld-${name}
# Keep the bot token out of this file: MTOKEN=... in a file only root and ${user} can read.
#EnvironmentFile=/etc/mewld/${name}.env
# SIGTERM stops every cluster, each within kill_timeout (${config.kill_timeout} s); then everything left is killed.
KillSignal=SIGTERM
KillMode=control-group
TimeoutStopSec=${Math.ceil(config.kill_timeout) + 15}
# restartproc exits 1 so that it starts again; a refused config exits 2 and would fail the same way again.
Restart=on-failure
RestartSec=2
RestartPreventExitStatus=2

[Install]
WantedBy=multi-user.target
`;
}
