/**
 * An HTTPS front for simulated Kubernetes API servers that a test can move to another one, so that a
 * client's kubeconfig stays valid while the cluster behind it changes (for example: the same cluster,
 * now with the Flink operator's CRD installed).
 *
 *   const front = await startKubeSwitch(withoutCrd);   // front.kubeconfig(): for the client
 *   front.switchTo(withCrd);                            // open connections drop, new ones go there
 */
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import yaml from 'js-yaml';
import { createServingCertificate } from '../../src/sim/apiserver/certificate.js';
import type { SimApiServer } from '../../src/sim/apiserver/index.js';
import { kubeconfigYaml } from '../../src/sim/apiserver/kubeconfig.js';

/** The front and its controls. */
export interface KubeSwitch {
  kubeconfig(): string;
  switchTo(server: SimApiServer): void;
  close(): Promise<void>;
}

/** Where one simulated API server answers and how to get in. */
function credentials(server: SimApiServer): { url: string; token: string; ca: string } {
  const config = yaml.load(server.kubeconfig()) as { clusters: { cluster: Record<string, string> }[]; users: { user: { token: string } }[] };
  return { url: server.url, token: config.users[0]!.user.token, ca: Buffer.from(config.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString('utf8') };
}

/** Starts a front on a free loopback port, forwarding to `server`. */
export async function startKubeSwitch(server: SimApiServer): Promise<KubeSwitch> {
  const tls = createServingCertificate(['127.0.0.1']);
  const token = 'kube-switch-token';
  let target = credentials(server);
  const sockets = new Set<Socket>();
  const front = https.createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const upstream = https.request(
      `${target.url}${req.url ?? '/'}`,
      { method: req.method, ca: target.ca, headers: { ...req.headers, host: new URL(target.url).host, authorization: `Bearer ${target.token}` } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  front.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
  return {
    kubeconfig: () => kubeconfigYaml({ server: url, token, caPem: tls.caPem }),
    switchTo(next) {
      target = credentials(next);
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        front.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
