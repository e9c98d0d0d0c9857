/** The `Dashboard` group's options (Bull Board), part of the option table in `options.ts`. */
import { isIP } from 'node:net';
import { DASHBOARD, enumOption, intOption, stringOption, type Option } from './option-kinds';

// ---- Dashboard (Bull Board) ---------------------------------------------------------------------------

export const DASHBOARD_ENABLED = enumOption(
  { groups: [DASHBOARD], key: 'enabled', description: 'Whether each coordinator also serves the dashboard (`shardflow dashboard` always does).', defaultValue: 'true' },
  ['true', 'false'],
);
export const DASHBOARD_HOST = stringOption(
  { groups: [DASHBOARD], key: 'host', description: 'Address the dashboard listens on (env `SHARDFLOW_DASHBOARD_HOST` overrides). Anything but loopback requires credentials.', defaultValue: '127.0.0.1' },
  'an IP address or host name',
);
export const DASHBOARD_PORT = intOption({ groups: [DASHBOARD], key: 'port', description: 'Port of the dashboard.', defaultValue: 3000 }, 0, 65535);
export const DASHBOARD_PATH: Option<string> = {
  groups: [DASHBOARD],
  key: 'path',
  description: 'URL path of the dashboard.',
  defaultValue: '/',
  defaultText: '/',
  allowed: 'a path starting with "/"',
  parse: (raw) => (/^\/[A-Za-z0-9/_.-]*$/.test(raw.trim()) ? raw.trim().replace(/(.)\/$/, '$1') : undefined),
};
export const DASHBOARD_USERNAME = stringOption({
  groups: [DASHBOARD],
  key: 'auth.basic.username',
  description: 'Basic-auth user (env `SHARDFLOW_DASHBOARD_USERNAME` overrides).',
});
export const DASHBOARD_PASSWORD = stringOption({
  groups: [DASHBOARD],
  key: 'auth.basic.password',
  description: 'Basic-auth password; better given as env `SHARDFLOW_DASHBOARD_PASSWORD` than in the file. Never logged.',
});
export const DASHBOARD_TOKEN = stringOption({
  groups: [DASHBOARD],
  key: 'auth.bearer.token',
  description: 'Bearer token accepted instead of basic auth (env `SHARDFLOW_DASHBOARD_TOKEN` overrides). Never logged.',
});

/** One `allowed-hosts` entry as a browser writes it in the Host header (lower case, IPv6 in brackets), or undefined. */
function hostEntry(text: string): string | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) === 6) return new URL(`http://[${bare}]`).hostname;
  if (isIP(text) === 4) return text;
  return /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/i.test(text) ? text.toLowerCase() : undefined;
}
export const DASHBOARD_ALLOWED_HOSTS: Option<readonly string[]> = {
  groups: [DASHBOARD],
  key: 'allowed-hosts',
  description:
    'Host names and addresses the dashboard answers to, on any port: a request whose `Host` header names another is refused (421 Misdirected Request), so a DNS-rebinding page cannot drive it. The address in `host` is accepted too (unless it is `0.0.0.0` or `::`); with `host` off loopback, list every name browsers reach it by, a reverse proxy\'s included (env `SHARDFLOW_DASHBOARD_ALLOWED_HOSTS` overrides).',
  defaultValue: ['127.0.0.1', 'localhost', '[::1]'],
  defaultText: '`127.0.0.1`, `localhost`, `[::1]`',
  allowed: 'comma-separated host names or IP addresses (IPv6 in brackets), without ports',
  parse: (raw) => {
    const hosts = raw.split(',').map((entry) => hostEntry(entry.trim()));
    return hosts.every((host): host is string => host !== undefined) ? hosts : undefined;
  },
};
