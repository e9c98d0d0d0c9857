import { hostname } from 'node:os';

/** A readable worker id (host and pid) that appears in logs, leases and the status view. */
export function workerId(role: string): string {
  return `${role}-${hostname()}-${process.pid}`;
}
