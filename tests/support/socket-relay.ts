// A Unix-socket relay in front of a real Docker daemon. Cutting it closes every connection at once, which is what
// the docker client sees when its daemon stops, restarts or crashes: the daemon itself is left alone, so other
// tests that share the engine go on.
import net from 'node:net';
import path from 'node:path';

export interface SocketRelay {
  /** `unix://…` for DOCKER_HOST. */
  dockerHost: string;
  /** Closes every relayed connection and stops accepting new ones. */
  cut(): Promise<void>;
}

/** The Unix socket a DOCKER_HOST value names (the default socket when unset). */
export function daemonSocket(dockerHost: string | undefined): string {
  if (dockerHost === undefined || dockerHost === '') return '/var/run/docker.sock';
  if (!dockerHost.startsWith('unix://')) throw new Error(`socket relay: not a unix socket: ${dockerHost}`);
  return dockerHost.slice('unix://'.length);
}

export async function startSocketRelay(dir: string, upstream: string): Promise<SocketRelay> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    const daemon = net.connect(upstream);
    track(client);
    track(daemon);
    client.pipe(daemon);
    daemon.pipe(client);
  });
  const address = path.join(dir, 'relay.sock');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, resolve);
  });
  return {
    dockerHost: `unix://${address}`,
    cut: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
