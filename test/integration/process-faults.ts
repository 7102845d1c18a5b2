/**
 * A fault the real-node tests make in a running pod from the test machine: the node's containers
 * are processes of this machine, so a test can freeze a pod's product process (SIGSTOP) as a hung
 * process would be, and thaw it again (SIGCONT). A frozen process keeps its listening sockets, so
 * the kernel still completes the kubelet's TCP probes and nothing restarts it, but it answers
 * nothing: its peers, its clients and Prometheus' scrapes all time out.
 */
import * as fs from 'node:fs';
import { adminClients } from './support';

/**
 * The pid of `pod`'s process whose command is `command` (`java`) and whose command line holds
 * `argument` (a main class, where a pod runs two JVMs), found by the pod's uid in the process'
 * cgroup path (the node's cgroupfs driver puts each container under `pod<uid>`), so a pod of the
 * same name in another namespace or on another test's node is never taken.
 */
async function podProcess(namespace: string, pod: string, command: string, argument = ''): Promise<number> {
  const uid = (await adminClients().core.readNamespacedPod({ name: pod, namespace })).metadata!.uid!;
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv[0] !== command && !argv[0].endsWith(`/${command}`)) continue;
      if (!argv.some((a) => a.includes(argument))) continue;
      const cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (cgroup.includes(`pod${uid}`) || cgroup.includes(`pod${uid.replace(/-/g, '_')}`))
        found.push(Number(pid));
    } catch {
      // A process that ended while it was read.
    }
  }
  if (found.length !== 1) {
    throw new Error(
      `expected one ${command} process${argument ? ` running ${argument}` : ''} of ${namespace}/${pod} ` +
        `(uid ${uid}), found ${found.length}`,
    );
  }
  return found[0];
}

/**
 * Freezes `pod`'s `command` process (the one whose command line holds `argument`, where it has
 * several) while `body` runs, and thaws it afterwards whatever `body` does (a frozen process would
 * also ignore the kubelet's SIGTERM when the test's namespace goes).
 */
export async function whileFrozen<T>(
  namespace: string,
  pod: string,
  command: string,
  body: () => Promise<T>,
  argument = '',
): Promise<T> {
  const pid = await podProcess(namespace, pod, command, argument);
  process.kill(pid, 'SIGSTOP');
  try {
    return await body();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}
