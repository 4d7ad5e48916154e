// Keep-alive settings for every HTTP server and client of the mesh.
//
// A server closes an idle connection after its keepAliveTimeout; a client that picks the same
// connection for a request at that moment gets ECONNRESET. Node's Agent avoids the race only
// when it has a timeout of its own: it then also honours the server's `Keep-Alive: timeout=N`
// hint, less one second (Agent#keepSocketAlive). With the default `timeout: 0` it keeps idle
// sockets until the server closes them, and under load some request loses that race.
import { Agent } from 'node:http';

/** How long servers keep an idle connection (Node's default is 5 s). */
export const SERVER_KEEP_ALIVE_MS = 65_000;

/** How long clients keep an idle connection: less than the servers, so the client closes first. */
export const CLIENT_IDLE_MS = 60_000;

/** A keep-alive Agent whose idle sockets expire before the server's. */
export function keepAliveAgent(maxSockets = Number.POSITIVE_INFINITY): Agent {
  return new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS, maxSockets });
}
