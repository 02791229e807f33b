/**
 * A small strftime for capture file names (`-G SEC` rotation names files with
 * strftime, as tcpdump does): %Y %y %m %d %e %H %M %S %j %s %F %T %b %a %%.
 * @module
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function pad(n: number, w: number, c = "0"): string {
  return String(n).padStart(w, c);
}

/**
 * Format `sec` (seconds since the epoch) with strftime conversions, in local time
 * (or UTC with `utc`). Unknown conversions are kept as written.
 *
 * @example
 * ```ts
 * import { strftime } from "./strftime.ts";
 * strftime("dump-%Y%m%d-%H%M%S.pcap", 0, true); // "dump-19700101-000000.pcap"
 * ```
 */
export function strftime(pattern: string, sec: number, utc = false): string {
  const d = new Date(Math.floor(sec) * 1000);
  const Y = utc ? d.getUTCFullYear() : d.getFullYear();
  const mo = utc ? d.getUTCMonth() : d.getMonth();
  const day = utc ? d.getUTCDate() : d.getDate();
  const H = utc ? d.getUTCHours() : d.getHours();
  const M = utc ? d.getUTCMinutes() : d.getMinutes();
  const S = utc ? d.getUTCSeconds() : d.getSeconds();
  const wd = utc ? d.getUTCDay() : d.getDay();
  const jan1 = utc ? Date.UTC(Y, 0, 1) : new Date(Y, 0, 1).getTime();
  const today = utc ? Date.UTC(Y, mo, day) : new Date(Y, mo, day).getTime();
  const yday = Math.round((today - jan1) / 86400000) + 1;
  return pattern.replace(/%(.)/g, (all, c: string) => {
    switch (c) {
      case "Y":
        return String(Y);
      case "y":
        return pad(Y % 100, 2);
      case "m":
        return pad(mo + 1, 2);
      case "d":
        return pad(day, 2);
      case "e":
        return pad(day, 2, " ");
      case "H":
        return pad(H, 2);
      case "M":
        return pad(M, 2);
      case "S":
        return pad(S, 2);
      case "j":
        return pad(yday, 3);
      case "s":
        return String(Math.floor(sec));
      case "F":
        return `${Y}-${pad(mo + 1, 2)}-${pad(day, 2)}`;
      case "T":
        return `${pad(H, 2)}:${pad(M, 2)}:${pad(S, 2)}`;
      case "b":
        return MONTHS[mo];
      case "a":
        return DAYS[wd];
      case "%":
        return "%";
      default:
        return all;
    }
  });
}
