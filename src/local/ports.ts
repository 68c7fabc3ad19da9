import net from 'node:net';

/** Whether something can listen on 127.0.0.1:`port` right now (0 asks the system for any free port). */
function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const port = await listenOn(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}

/** `preferred` when it is free on loopback, otherwise a free port; says which. */
export async function preferredPort(preferred: number): Promise<{ port: number; preferred: boolean }> {
  const port = await listenOn(preferred);
  return port === undefined ? { port: await freePort(), preferred: false } : { port, preferred: true };
}

/** A process could not listen on the port it was given (someone took it after it was found free). */
export class PortInUse extends Error {}

/** Whether a process's output says it could not listen on its port (Kafka's words, or Quarkus's). */
export function failedToBind(output: string): boolean {
  return /Address already in use|BindException|seems to be in use by another process/.test(output);
}
