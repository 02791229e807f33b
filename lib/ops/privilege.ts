/**
 * Least privilege: which Linux capability a feature needs, whether this
 * process holds it, and the one-line error that names the missing one.
 *
 * Capture needs only `CAP_NET_RAW` (a packet socket; promiscuous mode through
 * `PACKET_ADD_MEMBERSHIP` on that socket needs nothing more); `--metrics` on a
 * port below `net.ipv4.ip_unprivileged_port_start` needs
 * `CAP_NET_BIND_SERVICE`. Errors built here are thrown before the capture
 * starts, so the tools' `main()` prints the one line and exits 2.
 *
 * @example
 * ```ts
 * import { bindError, hasCapability, needs } from "./privilege.ts";
 * if (!hasCapability("CAP_NET_RAW")) console.error(needs("CAP_NET_RAW", "capture").message);
 * // a failed listen(): EACCES on port 443 becomes "--metrics 127.0.0.1:443: needs CAP_NET_BIND_SERVICE ..."
 * const e = bindError(Object.assign(new Error("x"), { code: "EACCES" }), "127.0.0.1", 443);
 * console.log(e?.capability); // "CAP_NET_BIND_SERVICE"
 * ```
 * @module
 */
import { readFileSync } from "node:fs";

/** The capabilities a ringcap feature may need, by the names capabilities(7) gives them. */
export type Capability = "CAP_NET_RAW" | "CAP_NET_ADMIN" | "CAP_NET_BIND_SERVICE";

/** Bit numbers of these capabilities (linux/capability.h). */
export const CAPABILITY_BIT: Record<Capability, number> = {
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
};

/** A feature that could not start for want of a capability: `main()` prints the message, exit 2. */
export class PrivilegeError extends Error {
  constructor(readonly capability: Capability, message: string) {
    super(message);
    this.name = "PrivilegeError";
  }
}

/**
 * The error for `what` (e.g. "--metrics 127.0.0.1:80", "capture on eth1")
 * lacking `cap`: "WHAT: needs CAP_X (run as root or grant it: setcap/AmbientCapabilities)".
 *
 * @example
 * ```ts
 * import { needs } from "./privilege.ts";
 * throw needs("CAP_NET_BIND_SERVICE", "--metrics 127.0.0.1:80");
 * ```
 */
export function needs(cap: Capability, what: string): PrivilegeError {
  return new PrivilegeError(
    cap,
    `${what}: needs ${cap} (run as root or grant it: setcap/AmbientCapabilities)`,
  );
}

/**
 * True when this process's effective set holds `cap` (from /proc/self/status
 * `CapEff`; false when procfs is not readable).
 *
 * @example
 * ```ts
 * import { hasCapability } from "./privilege.ts";
 * console.log(hasCapability("CAP_NET_ADMIN"));
 * ```
 */
export function hasCapability(cap: Capability, status = "/proc/self/status"): boolean {
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync(status, "utf8"))?.[1];
    return hex !== undefined && ((BigInt(`0x${hex}`) >> BigInt(CAPABILITY_BIT[cap])) & 1n) === 1n;
  } catch {
    return false;
  }
}

/**
 * The lowest port anyone may bind (`net.ipv4.ip_unprivileged_port_start`,
 * Linux ≥ 4.11; 1024 when it cannot be read). Below it binding needs
 * `CAP_NET_BIND_SERVICE`.
 *
 * @example
 * ```ts
 * import { unprivilegedPortStart } from "./privilege.ts";
 * console.log(unprivilegedPortStart()); // 1024 on a default system
 * ```
 */
export function unprivilegedPortStart(): number {
  try {
    const n = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
    return Number.isInteger(n) && n >= 0 ? n : 1024;
  } catch {
    return 1024;
  }
}

/**
 * Turn a failed bind/listen of `--metrics HOST:PORT` into the error to print:
 * EACCES/EPERM becomes a `PrivilegeError` naming `CAP_NET_BIND_SERVICE`
 * (the port is below `ip_unprivileged_port_start`) ; anything else → null
 * (the caller reports it as it likes: EADDRINUSE, EADDRNOTAVAIL...).
 *
 * @example
 * ```ts
 * import { bindError } from "./privilege.ts";
 * const err = Object.assign(new Error("listen EACCES"), { code: "EACCES" });
 * console.log(bindError(err, "127.0.0.1", 80)?.message);
 * ```
 */
export function bindError(err: unknown, host: string, port: number): PrivilegeError | null {
  const code = (err as { code?: string } | null)?.code;
  const name = (err as { name?: string } | null)?.name;
  if (code !== "EACCES" && code !== "EPERM" && name !== "PermissionDenied") return null;
  const h = host.includes(":") ? `[${host}]` : host;
  return needs(
    "CAP_NET_BIND_SERVICE",
    `--metrics ${h}:${port}: ports below ${unprivilegedPortStart()} (net.ipv4.ip_unprivileged_port_start)`,
  );
}
