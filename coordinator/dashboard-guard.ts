/**
 * What the dashboard lets through, as pure functions of the request (unit-tested without a server).
 * The dashboard applies them in this order, with its authentication between the first and the rest:
 *
 * 1. Host (421): the Host header must name a host the dashboard answers to (`Dashboard.allowed-hosts`,
 *    or the address it is bound to), so a DNS-rebinding page cannot drive it under the page's own name.
 * 2. Origin (403): a mutating request sent by a page of another origin is refused (an `Origin` that is
 *    not the dashboard's own, or `Sec-Fetch-Site: cross-site`/`same-site`); no Origin is a non-browser client.
 * 3. Allow-list (403): GET and HEAD pass. Of the rest only retrying or removing one dead letter passes:
 *    Bull Board 9's `PUT /api/queues/:queueName/:jobId/retry` and `PUT /api/queues/:queueName/:jobId/clean`
 *    (node_modules/@bull-board/api/dist/routes.js) on the dead-letter queue. Adding jobs, retrying or
 *    cleaning by status, emptying, obliterating, pausing, promoting, editing, schedulers and limits are
 *    not the dashboard's to do, and the lease queue is read-only.
 */
import { isIP } from 'node:net';

/** What the guard reads of a request. */
export interface GuardRequest {
  method: string;
  /** The URL's path without the query, as received (percent-encoded). */
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Whether the connection itself is TLS (without a proxy in front). */
  encrypted?: boolean;
}

export interface Refusal {
  status: 403 | 421;
  message: string;
}

/** The only changes the dashboard makes, to one dead letter: `PUT <path>/api/queues/<dead-letter queue>/<job id>/<action>`. */
const ONE_JOB_ACTIONS = new Set(['retry', 'clean']);
/**
 * Never a job id: Express routes `PUT /api/queues/:queueName/retry/:queueStatus` (retry all) and
 * `.../clean/:queueStatus` (remove all) before the one-job routes, so `.../clean/retry` is a purge.
 */
const NOT_JOB_IDS = new Set(['retry', 'clean']);
const SAFE_METHODS = new Set(['GET', 'HEAD']);
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '[::]']);

function header(req: GuardRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function isMutating(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/** A host as a browser writes it in a Host header: lower case, an IPv6 address in brackets. */
function hostForm(host: string): string {
  return isIP(host) === 6 ? `[${host.toLowerCase()}]` : host.toLowerCase();
}

/** The hosts the dashboard answers to: the configured ones, and the address it is bound to unless that is a wildcard. */
export function acceptedHosts(allowedHosts: readonly string[], boundHost: string): ReadonlySet<string> {
  const bound = hostForm(boundHost);
  return new Set([...allowedHosts.map(hostForm), ...(WILDCARD_ADDRESSES.has(bound) ? [] : [bound])]);
}

/** The host part of a Host header (any port dropped), lower case; undefined when it is missing or malformed. */
export function hostOf(hostHeader: string | undefined): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d*)?$/i.exec(hostHeader ?? '');
  return match?.[1].toLowerCase();
}

/** 421 unless the Host header names an accepted host. */
export function checkHost(req: GuardRequest, accepted: ReadonlySet<string>): Refusal | undefined {
  const host = hostOf(header(req, 'host'));
  if (host !== undefined && accepted.has(host)) return undefined;
  return { status: 421, message: `Misdirected request: this dashboard does not answer to the host ${JSON.stringify(host ?? header(req, 'host') ?? '')}; list the names it is reached by in Dashboard.allowed-hosts.` };
}

/** The dashboard's origin as the browser sees it: the scheme (a TLS proxy's X-Forwarded-Proto) and the Host header. */
export function ownOrigin(req: GuardRequest): string | undefined {
  const scheme = header(req, 'x-forwarded-proto')?.split(',')[0].trim().toLowerCase() ?? (req.encrypted ? 'https' : 'http');
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  try {
    return new URL(`${scheme}://${header(req, 'host') ?? ''}`).origin;
  } catch {
    return undefined;
  }
}

/** 403 for a mutating request sent by a page of another origin or site. */
export function checkOrigin(req: GuardRequest): Refusal | undefined {
  if (!isMutating(req.method)) return undefined;
  const site = header(req, 'sec-fetch-site');
  const origin = header(req, 'origin');
  if (site === 'cross-site' || site === 'same-site') return { status: 403, message: `Refused: a ${site} request may not change anything on the dashboard.` };
  if (origin === undefined || origin === ownOrigin(req)) return undefined;
  return { status: 403, message: `Refused: a request from ${JSON.stringify(origin)} may not change anything on the dashboard (its origin is ${ownOrigin(req) ?? 'unknown'}).` };
}

/** The path's segments below the dashboard's path, or undefined when it is not below it. */
function segmentsBelow(path: string, basePath: string): string[] | undefined {
  const base = basePath === '/' ? '' : basePath;
  if (path !== base && !path.startsWith(`${base}/`)) return undefined;
  return path.slice(base.length).split('/').slice(1);
}

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Whether `segments` are exactly `api/queues/<dead-letter queue>/<job id>/retry` or `.../clean`. */
function isOneDeadLetterAction(segments: readonly string[], deadLetterQueue: string): boolean {
  if (segments.length !== 5) return false;
  const [api, queues, queue, jobId, action] = segments;
  return (
    api === 'api' &&
    queues === 'queues' &&
    ONE_JOB_ACTIONS.has(action) &&
    decoded(queue) === deadLetterQueue &&
    !!decoded(jobId) &&
    !NOT_JOB_IDS.has(jobId.toLowerCase())
  );
}

/** 403 for every mutating request but retrying or removing one dead letter. */
export function checkRoute(req: GuardRequest, basePath: string, deadLetterQueue: string): Refusal | undefined {
  if (!isMutating(req.method)) return undefined;
  const segments = segmentsBelow(req.path, basePath);
  if (req.method === 'PUT' && segments && isOneDeadLetterAction(segments, deadLetterQueue)) return undefined;
  const bulk = segments?.[0] === 'api' && segments[1] === 'queues' ? segments[3]?.toLowerCase() : undefined;
  const hint =
    bulk === 'clean' || bulk === 'empty' || bulk === 'obliterate'
      ? ' Dead letters are removed in bulk with `shardflow dlq purge [--reason TEXT]`.'
      : bulk === 'retry'
        ? ' Dead letters are replayed in bulk with `shardflow dlq replay [--reason TEXT]`.'
        : '';
  return {
    status: 403,
    message: `Not allowed from the dashboard: ${req.method} ${req.path}. It may only retry or remove one dead letter; the lease queue is read-only.${hint}`,
  };
}
