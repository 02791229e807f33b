/**
 * Errors: one typed `RingError` with an errno-style `code` ("ENODEV",
 * "EPERM", ...) and a message that says what to do, and `unwrap(rc, what)`
 * which turns libring's `-errno` returns into it. CLI front ends print
 * `err.message` as one line and exit 2 (could not start) or 1 (failed later).
 *
 * @example
 * ```ts
 * import { RingError } from "./errors.ts";
 * try { throw new RingError("ENODEV", "no interface eth9"); }
 * catch (e) { if (e instanceof RingError) console.error(e.code, e.message); }
 * ```
 */

/** Linux errno numbers libring returns, by name. */
export const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  74: "EBADMSG",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  100: "ENETDOWN",
  114: "EALREADY",
};

/** A capture error: `code` is the errno name, `message` says what to do. */
export class RingError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "RingError";
  }
}

/** The errno name of a negative libring return value. */
export function errnoName(rc: number): string {
  return ERRNO[-rc] ?? `E${-rc}`;
}

/**
 * Return rc when >= 0; else throw a RingError built from libring's message
 * (`strerror`) and detail (`detail`), prefixed by `what` (e.g. "eth1").
 */
export function unwrap(
  rc: number,
  what: string,
  lib: { strerror(e: number): string; error(): string },
): number {
  if (rc >= 0) return rc;
  const detail = lib.error();
  const base = lib.strerror(rc);
  // a feature needing more than CAP_NET_RAW (steal mode: CAP_NET_ADMIN) names it in the detail
  const text = (rc === -1 || rc === -13) && /needs CAP_/.test(detail)
    ? detail
    : `${base}${detail && !base.includes(detail) ? ` (${detail})` : ""}`;
  throw new RingError(errnoName(rc), `${what}: ${text}`);
}
