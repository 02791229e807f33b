#!/usr/bin/env node
/**
 * check_lock.mjs [DIR] — does DIR/package-lock.json (default: the repo's) still
 * describe DIR/package.json? Exit 0 if so; else one line per difference on
 * stderr and exit 1. scripts/setup.sh runs it before `npm ci`, so the test
 * command fails on a stale lock file.
 *
 * `npm ci` refuses a lock whose dependency versions do not satisfy
 * package.json, but not one whose root entry (packages[""]) is out of step with
 * package.json's other fields: a `bin`, `license`, `engines`... added to
 * package.json without regenerating the lock installs silently (checked with
 * npm 11.19). This compares that root entry with package.json field by field,
 * normalized the way npm writes it; it needs neither the network nor an npm
 * of the same version as the one that wrote the lock. Node only (no bun or
 * deno yet when setup.sh runs it).
 *
 * Fix a reported difference with `npm install --package-lock-only` and commit
 * package-lock.json.
 */
import { readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** package.json fields npm copies into the lock's root entry (simple values, compared as they are). */
const FIELDS = [
  "name",
  "version",
  "license",
  "dependencies",
  "devDependencies",
  "optionalDependencies",
  "peerDependencies",
  "peerDependenciesMeta",
  "bundleDependencies",
  "engines",
  "os",
  "cpu",
  "workspaces",
];

/** JSON with object keys sorted (so key order does not count); empty objects and arrays as absent. */
function canon(v) {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.length ? `[${v.map(canon).join(",")}]` : "";
  if (typeof v === "object") {
    const keys = Object.keys(v).sort();
    return keys.length ? `{${keys.map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}` : "";
  }
  return JSON.stringify(v);
}

/** `bin` as npm writes it: an object of command → path, paths without a leading "./". */
function normalBin(bin, name) {
  if (!bin) return undefined;
  const o = typeof bin === "string" ? { [String(name ?? "").replace(/^@[^/]+\//, "")]: bin } : bin;
  const out = {};
  for (const [k, p] of Object.entries(o)) out[k] = posix.normalize(String(p)).replace(/^\.\//, "");
  return out;
}

/**
 * The differences between a package.json and its lock file's root entry, one
 * human-readable line each (empty when they agree).
 *
 * @param {Record<string, unknown>} pkg package.json, parsed
 * @param {Record<string, unknown>} lock package-lock.json, parsed
 * @returns {string[]}
 */
export function lockMismatches(pkg, lock) {
  const root = lock?.packages?.[""];
  if (!root) return ['no root entry (packages[""]): not a lockfileVersion 2 or 3 lock file'];
  const out = [];
  const differ = (what, want, have) => {
    if (canon(want) !== canon(have)) {
      out.push(
        `${what}: package.json has ${JSON.stringify(want)}, package-lock.json ${JSON.stringify(have)}`,
      );
    }
  };
  differ("name (top level)", pkg.name, lock.name);
  differ("version (top level)", pkg.version, lock.version);
  for (const f of FIELDS) differ(f, pkg[f], root[f]);
  differ("bin", normalBin(pkg.bin, pkg.name), normalBin(root.bin, pkg.name));
  const s = pkg.scripts ?? {};
  const install = Boolean(s.preinstall || s.install || s.postinstall);
  differ("hasInstallScript (install scripts)", install || undefined, root.hasInstallScript || undefined);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..");
  let pkg, lock;
  try {
    pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8"));
  } catch (e) {
    console.error(`check_lock: ${e.message}`);
    process.exit(1);
  }
  const diffs = lockMismatches(pkg, lock);
  for (const d of diffs) console.error(`package-lock.json is out of step with package.json: ${d}`);
  if (diffs.length) {
    console.error("  regenerate it (npm install --package-lock-only) and commit package-lock.json");
    process.exit(1);
  }
}
