/**
 * The operator's reads of what a stacklet's pod serves over HTTP or HTTPS (a role's scale-down
 * hand-over: HDFS' namenodes report their datanodes in `/jmx`).
 *
 * An HTTPS answer counts only when the pod's certificate chains to a CA of the stacklet's server
 * TlsClass and names the pod: the operator dials the pod's IP, and checks the certificate against
 * the pod's stable DNS name (`<hostname>.<subdomain>.<namespace>.svc.<domain>`), the name every
 * certificate keelson's classes issue carries (Pod Certificates from the operator's signer, a
 * cert-manager Certificate's `dnsNames`). The CAs are the class's ClusterTrustBundles, the same the
 * pods' own trust volumes project, so the operator trusts exactly what the stacklet's pods trust and
 * never reads a Secret holding a key.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { tlsSignerName } from '../tls/pod-tls';
import type { KubeObject } from './informer';

/** How long the operator waits for a pod's answer. */
const POD_REQUEST_TIMEOUT_MS = 5_000;
/** The most of an answer the operator reads (a namenode's `NameNodeInfo` lists every datanode). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** How the operator checks a pod's HTTPS answer. */
export interface PodTrust {
  /** The PEM CAs the pod's certificate must chain to. */
  readonly ca: string;
  /** The DNS name the pod's certificate must carry (the URL names the pod's IP). */
  readonly serverName: string;
}

/** The failure of a GET, named by its URL. */
function failed(url: string, why: string): Error {
  return new Error(`GET ${url}: ${why}`);
}

/**
 * The JSON a pod serves at `url`, within a few seconds; an `https:` URL needs `trust`. Rejects with
 * a message that names the URL and the cause (a refused connection, a certificate the trust does
 * not accept, an HTTP status, an answer that is not JSON).
 */
export function getPodJson(url: string, trust?: PodTrust): Promise<unknown> {
  const secure = url.startsWith('https:');
  if (secure && !trust) return Promise.reject(failed(url, 'no CA to check the pod’s certificate against'));
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      timeout: POD_REQUEST_TIMEOUT_MS,
      ...(secure && trust ? { ca: trust.ca, servername: trust.serverName, rejectUnauthorized: true } : {}),
    };
    const request = (secure ? https : http).get(url, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES)
          request.destroy(failed(url, `the answer exceeds ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => {
        if ((response.statusCode ?? 0) < 200 || (response.statusCode ?? 0) >= 300) {
          reject(failed(url, `HTTP ${response.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(failed(url, 'the answer is not JSON'));
        }
      });
      response.on('error', (error) => reject(failed(url, error.message)));
    });
    request.on('timeout', () =>
      request.destroy(failed(url, `no answer within ${POD_REQUEST_TIMEOUT_MS} ms`)),
    );
    request.on('error', (error: Error & { code?: string }) =>
      reject(error.message.startsWith(`GET ${url}: `) ? error : failed(url, error.code ?? error.message)),
    );
  });
}

/** A pod's stable DNS name under its headless Service; undefined for a pod without a subdomain. */
export function podDnsName(pod: KubeObject, clusterDomain: string): string | undefined {
  const spec = pod.spec as { hostname?: string; subdomain?: string } | undefined;
  if (!spec?.subdomain) return undefined;
  return `${spec.hostname ?? pod.metadata.name}.${spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}`;
}

/** The PEM CAs of the TlsClass `className`: every ClusterTrustBundle of its signer, joined. */
export function classTrust(bundles: Iterable<KubeObject>, className: string): string | undefined {
  const signer = tlsSignerName(className);
  const pems = [...bundles]
    .filter((b) => !b.metadata.deletionTimestamp)
    .map((b) => b.spec as { signerName?: string; trustBundle?: string } | undefined)
    .filter((spec) => spec?.signerName === signer && typeof spec.trustBundle === 'string')
    .map((spec) => spec!.trustBundle!.trim());
  return pems.length > 0 ? `${pems.join('\n')}\n` : undefined;
}
