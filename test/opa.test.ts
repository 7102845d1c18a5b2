import { execFileSync } from 'node:child_process';
import { Chart, Testing } from 'cdk8s';
import {
  OPA,
  OPA_POLICY_LABEL,
  OpaCluster,
  POLICY_SYNC_SCRIPT,
  TRINO,
  TrinoCluster,
  labelSelectorQuery,
  opaAccessControl,
  opaRecordFilter,
  type OpaClusterProps,
} from '../constructs';
import { Stacklet, specProblems, type StackletOptions } from '../lib';
import { watchedNamespaceRules } from '../lib/operator/deployment';
import { find, problemsOf, type Obj } from './support/synth';

function synth(props: OpaClusterProps = {}, trino?: { package: string; options?: StackletOptions }): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  const opa = new OpaCluster(chart, 'opa', props);
  if (trino)
    new TrinoCluster(chart, 'trino', { opa: { cluster: opa, package: trino.package } }, trino.options);
  return Testing.synth(chart) as Obj[];
}

const properties = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('OpaCluster', () => {
  test('runs OPA servers as a Deployment watching the policy folder, with decision logs on the console', () => {
    const objs = synth();
    const deployment = find(objs, 'Deployment', 'opa-servers-default');
    const [opa, sync] = deployment.spec.template.spec.containers;
    expect(opa.name).toBe('opa');
    // bash starts OPA in its place, its console copied into keelson's structured file.
    expect(opa.command.slice(0, 2)).toEqual(['/bin/bash', '-c']);
    expect(opa.command[2]).toContain(
      "exec '/usr/local/bin/opa' 'run' '--server' '--addr=0.0.0.0:8181' '--diagnostic-addr=0.0.0.0:8282'",
    );
    expect(opa.command[2]).toContain("'--ignore=.*' '--watch' '/keelson/policies'");
    expect(opa.command[2]).toContain("'--log-level=info'");
    expect(opa.ports.map((p: { name: string }) => p.name)).toEqual(['http', 'metrics']);
    expect(find(objs, 'ConfigMap', 'opa-servers-default').data['config.yaml']).toMatch(
      /decision_logs:\s+console: true/,
    );
    expect(sync.name).toBe('policy-sync');
    expect(sync.env).toEqual([{ name: 'POLICY_SELECTOR', value: `${OPA_POLICY_LABEL}=opa` }]);
    // Only the policy step holds an API token; the pod mounts none by default.
    expect(deployment.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(opa.volumeMounts.map((m: { name: string }) => m.name)).not.toContain('api-token');
    expect(sync.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain(
      '/var/run/secrets/kubernetes.io/serviceaccount',
    );
  });

  test("lets its ServiceAccount read the namespace's ConfigMaps and nothing else", () => {
    const objs = synth();
    expect((find(objs, 'Role', 'opa') as Obj & { rules: unknown }).rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
    ]);
    const binding = find(objs, 'RoleBinding', 'opa') as Obj & { roleRef: unknown; subjects: unknown };
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'opa' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'opa', namespace: 'data' }]);
  });

  test('the operator may apply and prune the Role and its binding', () => {
    const rbac = watchedNamespaceRules([OPA]).find((r) =>
      (r.apiGroups as string[]).includes('rbac.authorization.k8s.io'),
    );
    expect(rbac?.resources).toEqual(['rolebindings', 'roles']);
  });

  test('publishes the REST API base URL in its discovery ConfigMap', () => {
    expect(find(synth(), 'ConfigMap', 'opa').data).toEqual({
      OPA: 'http://opa-servers.data.svc.cluster.local:8181/',
    });
  });

  test('selects policy ConfigMaps with the given selector', () => {
    const objs = synth({
      clusterConfig: {
        policyLabelSelector: {
          matchLabels: { team: 'data' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['a', 'b'] },
            { key: 'draft', operator: 'DoesNotExist' },
          ],
        },
      },
    });
    const sync = find(objs, 'Deployment', 'opa-servers-default').spec.template.spec.containers[1];
    expect(sync.env[0].value).toBe('team=data,tier in (a,b),!draft');
    expect(labelSelectorQuery({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['y'] }] })).toBe(
      'x notin (y)',
    );
  });

  test('the policy step is valid bash', () => {
    expect(() => execFileSync('bash', ['-n', '-c', POLICY_SYNC_SCRIPT])).not.toThrow();
  });

  test("writes OPA's console into keelson's structured file, in the shared fields, rolled like the others", () => {
    const objs = synth({
      servers: { config: { logging: { containers: { opa: { file: { level: 'DEBUG' } } } } } },
    });
    const [opa] = find(objs, 'Deployment', 'opa-servers-default').spec.template.spec.containers;
    const script = opa.command[2] as string;
    expect(() => execFileSync('bash', ['-n', '-c', script])).not.toThrow();
    expect(script).toContain("file='/keelson/log/opa.json'");
    expect(script).toContain('mv -f "$file" "$file.1"');
    // The file's DEBUG makes OPA log at debug (one level for console and file).
    expect(script).toContain("'--log-level=debug'");
    expect(opa.volumeMounts).toContainEqual({ name: 'rw-keelson-log', mountPath: '/keelson/log' });
  });

  test("turns OPA's JSON log lines into records of the shared fields (jq, as the pod runs it)", () => {
    const lines = [
      '{"level":"info","msg":"Initializing server.","time":"2026-12-02T15:00:00.123456789Z"}',
      '{"level":"debug","msg":"Received request.","time":"2026-12-02T15:00:01Z"}',
      '{"decision_id":"d1","input":{"a":1},"level":"info","msg":"Decision Log","path":"trino/allow","result":true,"time":"2026-12-02T15:00:02+00:00"}',
      'not JSON',
      '{"level":"warning","msg":"careful","time":"2026-12-02T15:00:03Z"}',
    ].join('\n');
    const run = (level: string) =>
      execFileSync('jq', ['-R', '-c', opaRecordFilter(level)], { input: lines })
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, string>);
    const info = run('INFO');
    expect(info.map((r) => [r.level, r.logger, r.message])).toEqual([
      ['INFO', 'opa', 'Initializing server.'],
      ['INFO', 'decision_logs', 'Decision Log'],
      ['INFO', 'opa', 'not JSON'],
      ['WARN', 'opa', 'careful'],
    ]);
    expect(info[0]).toEqual({
      timestamp: '2026-12-02T15:00:00.123456789Z',
      level: 'INFO',
      thread: 'main',
      logger: 'opa',
      message: 'Initializing server.',
    });
    expect(info[1]).toMatchObject({
      timestamp: '2026-12-02T15:00:02Z',
      decision_id: 'd1',
      path: 'trino/allow',
    });
    for (const r of info) expect(r.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(run('DEBUG').map((r) => r.level)).toEqual(['INFO', 'DEBUG', 'INFO', 'INFO', 'WARN']);
    expect(run('WARN').map((r) => r.message)).toEqual(['careful']);
  });
});

describe("Trino's OPA access control", () => {
  test('the coordinator asks the OpaCluster for <package>/allow; workers keep their drain rules', () => {
    const objs = synth({}, { package: 'acme.trino' });
    const coordinator = find(objs, 'ConfigMap', 'trino-coordinators-default').data;
    expect(properties(coordinator['config.properties'])['access-control.config-files']).toBe(
      '/keelson/config/access-control.properties',
    );
    expect(properties(coordinator['access-control.properties'])).toEqual({
      'access-control.name': 'opa',
      'opa.policy.uri': 'http://opa-servers.data.svc.cluster.local:8181/v1/data/acme/trino/allow',
    });
    const worker = find(objs, 'ConfigMap', 'trino-workers-default').data;
    expect(properties(worker['access-control.properties'])['access-control.name']).toBe('file');
    // The coordinator may reach the OPA servers.
    const policy = find(objs, 'NetworkPolicy', 'opa');
    expect(JSON.stringify(policy.spec.ingress)).toContain('"app.kubernetes.io/instance":"trino"');
  });

  test('is the same with Trino TLS on', () => {
    const objs = synth({}, { package: 'trino', options: { tlsClasses: [{ name: 'tls' }] } });
    const coordinator = find(objs, 'ConfigMap', 'trino-coordinators-default').data;
    expect(properties(coordinator['config.properties'])['http-server.https.enabled']).toBe('true');
    expect(properties(coordinator['access-control.properties'])['opa.policy.uri']).toBe(
      'http://opa-servers.data.svc.cluster.local:8181/v1/data/trino/allow',
    );
  });

  test('without authorization the coordinator keeps Trino’s default access control', () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    new TrinoCluster(chart, 'trino', {});
    const coordinator = find(Testing.synth(chart) as Obj[], 'ConfigMap', 'trino-coordinators-default').data;
    expect(coordinator['access-control.properties']).toBeUndefined();
    expect(coordinator['config.properties']).not.toContain('access-control');
  });

  test('rejects a package that is not a Rego package path', () => {
    const problems = specProblems(TRINO.specSchema, {
      clusterConfig: { authorization: { opa: { configMapName: 'opa', package: 'acme/trino' } } },
    });
    expect(problems.join('\n')).toMatch(/spec\.clusterConfig\.authorization\.opa\.package/);
  });

  test("rejects a ConfigMap that is not an OpaCluster's discovery ConfigMap", () => {
    const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
    const trino = new Stacklet(
      chart,
      'trino',
      TRINO,
      { clusterConfig: { authorization: { opa: { configMapName: 'zk', package: 'trino' } } } },
      { dependencies: { zk: { ZOOKEEPER: 'zk:2181' } } },
    );
    expect(problemsOf(trino)).toMatch(
      /spec\.clusterConfig\.authorization\.opa\.configMapName: the ConfigMap "zk" has no OPA/,
    );
  });

  test('opaAccessControl joins a base URL with or without its slash', () => {
    const deps = { a: { OPA: 'http://o:8181' }, b: { OPA: 'http://o:8181/' } };
    expect(opaAccessControl({ configMapName: 'a', package: 'p' }, deps)['opa.policy.uri']).toBe(
      'http://o:8181/v1/data/p/allow',
    );
    expect(opaAccessControl({ configMapName: 'b', package: 'p' }, deps)['opa.policy.uri']).toBe(
      'http://o:8181/v1/data/p/allow',
    );
  });
});
