import { Chart, Testing } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { BeaconCluster, type BeaconClusterProps } from '../example-product/beacon';

/** A synthesized object, as tests read it. */
export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: any;
};

/** The objects of one Beacon named `demo` in namespace `data` of the platform chart. */
export function synthBeacon(spec: BeaconClusterProps = {}): Obj[] {
  const chart = new Chart(Testing.app(), 'platform', { namespace: 'data' });
  new BeaconCluster(chart, 'demo', spec);
  return Testing.synth(chart) as Obj[];
}

/** The object of `kind` named `name`; fails listing what there is. */
export function find(objs: Obj[], kind: string, name: string): Obj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o)
    throw new Error(`no ${kind} ${name}; have ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

/**
 * What cdk8s' validation at synth reports for `construct` and everything below it, one problem a
 * line (a stacklet reports its spec's problems there rather than throwing from its constructor).
 */
export function problemsOf(construct: IConstruct): string {
  return construct.node
    .findAll()
    .flatMap((c) => c.node.validate())
    .join('\n');
}

/**
 * A kerberos AuthenticationClass as StackletOptions take it: `name`, of `realm`, its KDC in the
 * `security` namespace and its admin credentials in the Secret `kerberos-admin`.
 */
export function kerberosClassInfo(name = 'realm', realm = 'DATA.EXAMPLE.ORG') {
  return {
    name,
    provider: 'kerberos' as const,
    spec: {
      kerberos: {
        realm,
        kdc: 'kdc.security.svc.cluster.local',
        adminCredentialsSecretName: 'kerberos-admin',
      },
    },
  };
}
