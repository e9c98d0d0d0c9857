/**
 * No Kubernetes engine runs here: the manifests in deploy/kubernetes are validated offline against the
 * Kubernetes schemas (kubernetes-models) and KEDA's CRD (@kubernetes-models/keda), then read against the
 * code: the probes ask what the ops server serves, the autoscaler stays within the stream's shards and
 * agrees with the PodDisruptionBudget, and the workers' grace covers a graceful hand-over.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { ScaledObject, type IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { buildAppConfig, parsePropertyGroups } from '../../shared/config/properties';
import { resolveContext } from '../../cli/context';
import { opsAddress } from '../../cli/ops';
import { buildProgram } from '../../cli/main';
import { Metrics } from '../../shared/metrics';
import { OpsServer } from '../../shared/ops-server';

const root = join(__dirname, '..', '..');
const dir = join(root, 'deploy', 'kubernetes');

/**
 * Each kind the manifests may use, with its schema (the model's validator) and its type (for the
 * unknown-field check). A kind missing here fails the test rather than going unchecked.
 */
const SCHEMAS: Record<string, { Model: new (data: never) => { validate(): void }; types: string }> = {
  'v1 Namespace': { Model: Namespace, types: 'kubernetes-models/v1/Namespace' },
  'v1 ServiceAccount': { Model: ServiceAccount, types: 'kubernetes-models/v1/ServiceAccount' },
  'v1 ConfigMap': { Model: ConfigMap, types: 'kubernetes-models/v1/ConfigMap' },
  'v1 Secret': { Model: Secret, types: 'kubernetes-models/v1/Secret' },
  'v1 Service': { Model: Service, types: 'kubernetes-models/v1/Service' },
  'apps/v1 Deployment': { Model: Deployment, types: 'kubernetes-models/apps/v1/Deployment' },
  'policy/v1 PodDisruptionBudget': { Model: PodDisruptionBudget, types: 'kubernetes-models/policy/v1/PodDisruptionBudget' },
  'autoscaling/v2 HorizontalPodAutoscaler': { Model: HorizontalPodAutoscaler, types: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler' },
  'keda.sh/v1alpha1 ScaledObject': { Model: ScaledObject, types: '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject' },
};

interface Manifest {
  /** Relative to deploy/kubernetes, with `#n` for the n-th document of a file. */
  where: string;
  file: string;
  doc: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
}

const files = (readdirSync(dir, { recursive: true }) as string[])
  .map((f) => f.split('\\').join('/'))
  // The optional components (a PrometheusRule needs the Prometheus Operator's CRD) are checked against their
  // source by test/unit/promql-metrics.test.ts and by promtool, not against the core Kubernetes schemas here.
  .filter((f) => f.endsWith('.yaml') && posix.basename(f) !== 'kustomization.yaml' && !f.startsWith('components/'))
  .sort();
const manifests: Manifest[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d, i) => {
    if (d.errors.length > 0) throw new Error(`${file} #${i + 1}: ${d.errors[0].message}`);
    return { where: `${file} #${i + 1}`, file, doc: d.toJS() as Manifest['doc'] };
  }),
);
const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[]; images: { name: string; newName?: string; newTag?: string }[] };

function find<T>(kind: string, name: string, file?: string): T {
  const found = manifests.filter((m) => m.doc.kind === kind && m.doc.metadata.name === name && (file === undefined || m.file === file));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}${file ? ` in ${file}` : ''}, found ${found.length}`);
  return found[0].doc as T;
}

const coordinator = find<IDeployment>('Deployment', 'shardflow-coordinator');
const worker = find<IDeployment>('Deployment', 'shardflow-worker');
const workerPdb = find<IPodDisruptionBudget>('PodDisruptionBudget', 'shardflow-worker');
const coordinatorPdb = find<IPodDisruptionBudget>('PodDisruptionBudget', 'shardflow-coordinator');
const scaledObject = find<IScaledObject>('ScaledObject', 'shardflow-worker');
const hpa = find<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'shardflow-worker');
const configMap = find<IConfigMap>('ConfigMap', 'shardflow-config');
const redisSecret = find<ISecret>('Secret', 'shardflow-redis');

const container = (d: IDeployment): IContainer => d.spec!.template.spec!.containers[0];
const envOf = (c: IContainer): Record<string, string | undefined> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));

/** The properties the pods read, parsed by shardflow's own loader. */
function properties() {
  const json = JSON.parse(configMap.data!['application-properties.json']) as unknown;
  return buildAppConfig(parsePropertyGroups(json, 'the ConfigMap shardflow-config'), {});
}

/** The one place the manifests state the input stream's open shards. */
function statedShards(): number {
  const text = configMap.data!['input-stream-open-shards'];
  expect(text).toMatch(/^[1-9]\d*$/);
  return Number(text);
}

describe('schemas', () => {
  it('every manifest is a kind with a schema here, in the shardflow namespace', () => {
    expect(manifests.length).toBeGreaterThan(0);
    for (const { where, doc } of manifests) {
      expect({ where, kind: `${doc.apiVersion} ${doc.kind}`, known: `${doc.apiVersion} ${doc.kind}` in SCHEMAS }).toEqual({ where, kind: `${doc.apiVersion} ${doc.kind}`, known: true });
      expect({ where, namespace: doc.kind === 'Namespace' ? doc.metadata.name : doc.metadata.namespace }).toEqual({ where, namespace: 'shardflow' });
    }
  });

  it('every manifest validates against its schema (Kubernetes 1.33 from kubernetes-models, KEDA 2.10 CRD from @kubernetes-models/keda)', () => {
    const failures: string[] = [];
    for (const { where, doc } of manifests) {
      const schema = SCHEMAS[`${doc.apiVersion} ${doc.kind}`];
      try {
        new schema.Model(doc as never).validate();
      } catch (err) {
        failures.push(`${where}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  /**
   * The JSON schemas allow fields they do not define, as Kubernetes' own do, while `kubectl apply` refuses
   * them (strict field validation), so a misspelt or misindented field would pass the validators above.
   * The models' TypeScript types come from the same schemas; checking each manifest as an object
   * literal of its type makes the TypeScript compiler report any field the schema does not have.
   */
  it('no manifest has a field its schema does not define', () => {
    const entries = manifests.map((m, i) => ({ ...m, name: `m${i}`, type: `I${m.doc.kind}`, from: SCHEMAS[`${m.doc.apiVersion} ${m.doc.kind}`].types }));
    let text = [...new Set(entries.map((e) => `import type { ${e.type} } from '${e.from}';\n`))].join('');
    const spans: { where: string; start: number }[] = [];
    for (const e of entries) {
      spans.push({ where: e.where, start: text.length });
      text += `export const ${e.name}: ${e.type} = ${JSON.stringify(e.doc, null, 1)};\n`;
    }
    const file = join(dir, '__manifests__.ts');
    const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es5.d.ts'], module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 };
    const host = ts.createCompilerHost(options);
    const readSource = host.getSourceFile.bind(host);
    const exists = host.fileExists.bind(host);
    host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, text, language) : readSource(name, language, ...rest));
    host.fileExists = (name) => name === file || exists(name);
    const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], options, host));
    const problems = diagnostics.map((d) => {
      const where = d.start === undefined ? '?' : spans.filter((s) => s.start <= d.start!).pop()?.where ?? 'imports';
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    expect(problems).toEqual([]);
  });

  it('kustomization.yaml applies every manifest but the example Secret and the alternatives, and names the image the Dockerfile builds', () => {
    const expected = files.filter((f) => !f.includes('.example.') && !f.startsWith('alternatives/'));
    expect([...kustomization.resources].sort()).toEqual(expected);
    // docker-compose.yml tags what it builds from the Dockerfile `shardflow:latest`; here the same name is
    // rewritten to the registry the cluster pulls from.
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { image?: string }> };
    const built = compose.services.worker.image!.split(':')[0];
    expect(kustomization.images.map((i) => i.name)).toEqual([built]);
    for (const d of [coordinator, worker]) expect(container(d).image).toBe(built);
  });
});

describe('autoscaling', () => {
  it('scales on the millisBehindLatest metric the workers export, for the app they run as', () => {
    const metricName = 'shardflow_millis_behind_latest';
    const exported = new Metrics();
    expect(exported.registry.getSingleMetric(metricName)).toBe(exported.millisBehindLatest);
    const app = envOf(container(worker)).SHARDFLOW_APP!;
    const lag = scaledObject.spec!.triggers.find((t) => t.type === 'prometheus')!;
    expect(lag.metadata.query).toMatch(new RegExp(`\\b${metricName}\\{[^}]*\\bapp="${app}"[^}]*\\}`));
    expect(Number(lag.metadata.threshold)).toBeGreaterThan(0);
    // The HPA alternative reads the same series through prometheus-adapter (the rule in its comment).
    const external = hpa.spec!.metrics!.find((m) => m.type === 'External')!.external!;
    expect(external.metric.name.startsWith(metricName)).toBe(true);
    expect(external.metric.selector?.matchLabels).toEqual({ app });
    expect(readFileSync(join(dir, 'alternatives', 'worker-hpa.yaml'), 'utf8')).toContain(`seriesQuery: '${metricName}{app!=""}'`);
  });

  it('both autoscalers target the worker Deployment, which leaves the replica count to them', () => {
    for (const ref of [scaledObject.spec!.scaleTargetRef, hpa.spec!.scaleTargetRef]) {
      expect(ref).toMatchObject({ kind: 'Deployment', name: worker.metadata!.name });
    }
    expect(worker.spec!.replicas).toBeUndefined();
  });

  it('the ceiling is not above the input stream\'s shard count stated in the ConfigMap: more workers than shards sit idle', () => {
    const shards = statedShards();
    expect(scaledObject.spec!.maxReplicaCount).toBeLessThanOrEqual(shards);
    expect(hpa.spec!.maxReplicas).toBeLessThanOrEqual(shards);
    expect(scaledObject.spec!.minReplicaCount).toBeLessThanOrEqual(scaledObject.spec!.maxReplicaCount!);
    expect(hpa.spec!.minReplicas).toBeLessThanOrEqual(hpa.spec!.maxReplicas);
  });

  it('the floor lets a drain take a worker while another keeps reading, and can hold every shard', () => {
    const labels = worker.spec!.template.metadata!.labels;
    expect(labels).toMatchObject(workerPdb.spec!.selector!.matchLabels!);
    const { config } = properties();
    for (const floor of [scaledObject.spec!.minReplicaCount!, hpa.spec!.minReplicas!]) {
      const allowed = disruptionsAllowed(workerPdb.spec!, floor);
      expect({ floor, allowed, drainCanProceed: allowed >= 1, oneKeepsReading: floor - allowed >= 1 }).toEqual({ floor, allowed, drainCanProceed: true, oneKeepsReading: true });
      expect(floor * config.cluster.maxLeasesPerWorker).toBeGreaterThanOrEqual(statedShards());
    }
  });
});

/**
 * Pods a PodDisruptionBudget lets go at once out of `replicas` healthy ones; percentages round up, as the
 * disruption controller rounds them.
 */
function disruptionsAllowed(spec: NonNullable<IPodDisruptionBudget['spec']>, replicas: number): number {
  const count = (value: number | string) => (typeof value === 'number' ? value : Math.ceil((Number(value.replace('%', '')) / 100) * replicas));
  if (spec.minAvailable !== undefined) return Math.max(0, replicas - count(spec.minAvailable));
  if (spec.maxUnavailable !== undefined) return Math.min(replicas, count(spec.maxUnavailable));
  return replicas;
}

describe('graceful hand-over', () => {
  /**
   * The longest graceful stop, from the code (the next test pins these shares to it): every held lease
   * hands over in parallel, waiting at most half of handOverMs for the output (whatever it does) and half
   * for its final checkpoint (worker/hand-over.ts), handOverMs being half of lease.timeout; then the sink's
   * leftovers get a quarter of lease.timeout (worker/lease-worker.ts). The allowance covers the Redis
   * round trips of releasing and closing and one GetRecords already in flight.
   */
  const HAND_OVER_SHARE = 1 / 2;
  const FINAL_FLUSH_SHARE = 1 / 4;
  const ALLOWANCE_MS = 5000;

  it('the shares above are still the code\'s', () => {
    const leaseWorker = readFileSync(join(root, 'worker', 'lease-worker.ts'), 'utf8');
    expect(leaseWorker).toContain('handOverMs: Math.floor(leaseTimeoutMs / 2)');
    expect(leaseWorker).toContain('await this.sink.flush(AbortSignal.timeout(Math.floor(this.opts.config.cluster.leaseTimeoutMs / 4)));');
    const handOver = readFileSync(join(root, 'worker', 'hand-over.ts'), 'utf8');
    expect(handOver).toContain('const grace = this.deps.handOverMs / 2;');
    expect(handOver).toContain('const deadline = clock() + this.deps.handOverMs / 2;');
  });

  it("the workers' termination grace covers a graceful stop at the ConfigMap's lease.timeout", () => {
    const { config, warnings } = properties();
    expect(warnings).toEqual([]);
    const leaseTimeoutMs = config.cluster.leaseTimeoutMs;
    const pod = worker.spec!.template.spec!;
    // A preStop hook runs inside the grace, before SIGTERM.
    const preStopMs = (container(worker).lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
    const neededMs = preStopMs + leaseTimeoutMs * (HAND_OVER_SHARE + FINAL_FLUSH_SHARE) + ALLOWANCE_MS;
    expect(pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(neededMs);
    expect(container(worker).lifecycle?.preStop?.exec).toBeUndefined();
  });

  it('the PodDisruptionBudgets select their pods, and a drain never takes both coordinators', () => {
    expect(coordinator.spec!.replicas).toBe(2);
    expect(coordinator.spec!.template.metadata!.labels).toMatchObject(coordinatorPdb.spec!.selector!.matchLabels!);
    expect(disruptionsAllowed(coordinatorPdb.spec!, 2)).toBe(1);
    expect(coordinator.spec!.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
  });
});

describe('the pods against the code', () => {
  const deployments = [coordinator, worker];

  it('run the CLI command of their role, with variables the code reads and values it accepts', () => {
    const commands = buildProgram().commands.map((c) => c.name());
    for (const d of deployments) {
      const c = container(d);
      const role = d.metadata!.labels!['app.kubernetes.io/component'];
      expect(c.args).toEqual([role]);
      expect(commands).toContain(role);
      const env = envOf(c);
      expect(Object.keys(env).sort()).toEqual(['APPLICATION_PROPERTIES_FILE', 'METRICS_HOST', 'METRICS_PORT', 'REDIS_URL', 'SHARDFLOW_APP']);
      const redis = c.env!.find((e) => e.name === 'REDIS_URL')!.valueFrom!.secretKeyRef!;
      expect(redis).toEqual({ name: redisSecret.metadata!.name, key: 'REDIS_URL' });
      const ctx = resolveContext({}, { ...env, REDIS_URL: redisSecret.stringData!.REDIS_URL });
      expect(ctx.app).toBe(env.SHARDFLOW_APP);
      // The properties file is the ConfigMap's entry, mounted where APPLICATION_PROPERTIES_FILE points.
      const mount = c.volumeMounts!.find((m) => env.APPLICATION_PROPERTIES_FILE!.startsWith(`${m.mountPath}/`))!;
      const volume = d.spec!.template.spec!.volumes!.find((v) => v.name === mount.name)!;
      expect(volume.configMap?.name).toBe(configMap.metadata!.name);
      const item = volume.configMap!.items!.find((i) => posix.join(mount.mountPath, i.path) === env.APPLICATION_PROPERTIES_FILE)!;
      expect(configMap.data![item.key]).toBeDefined();
    }
  });

  it('probe /healthz (startup, liveness) and /readyz (readiness) on the port the ops server listens on, reachable from the kubelet', async () => {
    for (const d of deployments) {
      const c = container(d);
      const { host, port } = opsAddress({}, envOf(c));
      expect(host).toBe('0.0.0.0');
      const probed = (probe: IProbe | undefined) => {
        const get = probe!.httpGet!;
        const named = c.ports!.find((p) => p.name === get.port || p.containerPort === get.port)!;
        return { path: get.path, port: named.containerPort };
      };
      expect(probed(c.startupProbe)).toEqual({ path: '/healthz', port });
      expect(probed(c.livenessProbe)).toEqual({ path: '/healthz', port });
      expect(probed(c.readinessProbe)).toEqual({ path: '/readyz', port });
    }
    // And those paths are the ones the ops server answers (with no readiness checks registered, it is ready).
    const server = new OpsServer(new Metrics(), []);
    const url = await server.listen('127.0.0.1', 0);
    try {
      for (const path of ['/healthz', '/readyz', '/metrics']) expect({ path, status: (await fetch(`${url}${path}`)).status }).toEqual({ path, status: 200 });
    } finally {
      await server.close();
    }
  });

  it('are scraped through one headless Service per role, on the metrics port', () => {
    for (const d of deployments) {
      const role = d.metadata!.labels!['app.kubernetes.io/component'];
      const service = find<IService>('Service', `shardflow-${role}-metrics`);
      expect(d.spec!.template.metadata!.labels).toMatchObject(service.spec!.selector!);
      const { port } = opsAddress({}, envOf(container(d)));
      expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      expect(service.spec!.ports).toEqual([{ name: 'metrics', port, targetPort: 'metrics' }]);
      expect(container(d).ports).toContainEqual({ name: 'metrics', containerPort: port });
      expect(service.metadata!.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
      // Scraped once: the pods carry no scrape annotations of their own.
      expect(d.spec!.template.metadata!.annotations?.['prometheus.io/scrape']).toBeUndefined();
      // A pod label `app` would shadow the `app` label of every shardflow series in a Prometheus that copies pod labels.
      expect(Object.keys(d.spec!.template.metadata!.labels!)).not.toContain('app');
    }
  });

  it('run as a non-root user with a read-only root filesystem and nothing else allowed', () => {
    // The image's USER is `node`, a name: the kubelet can only enforce runAsNonRoot with a numeric uid.
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect([...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]).pop()).toBe('node');
    for (const d of deployments) {
      const pod = d.spec!.template.spec!;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.securityContext?.runAsUser ?? pod.securityContext!.runAsUser).toBeGreaterThan(0);
      }
    }
  });
});
