/**
 * package-lock.json describes package.json (DESIGN: versions pinned, the lock
 * committed), and the test command refuses to run when it does not:
 * scripts/check_lock.mjs compares the lock's root entry with package.json
 * (what `npm ci` does not check: bin, license, engines...), and
 * scripts/setup.sh — which scripts/test.sh runs first — stops on a difference.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skip, test } from "./harness.ts";
import { ROOT } from "./net.ts";

const CHECK = join(ROOT, "scripts", "check_lock.mjs");
const read = (f: string) => JSON.parse(readFileSync(join(ROOT, f), "utf8"));

function hasNode(): boolean {
  return spawnSync("node", ["--version"], { stdio: "ignore" }).status === 0;
}

/** Run the check on a directory holding this package.json and lock; [exit status, stderr]. */
function check(pkg: unknown, lock: unknown): [number | null, string] {
  const dir = mkdtempSync(join(tmpdir(), "ringcap-lock-"));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2));
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2));
    const r = spawnSync("node", [CHECK, dir], { encoding: "utf8" });
    return [r.status, r.stderr];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("package-lock.json matches package.json (root entry: bin, license, dependencies...)", () => {
  if (!hasNode()) skip("node is not installed (setup needs Node 20)");
  const r = spawnSync("node", [CHECK], { encoding: "utf8" });
  assert.equal(r.status, 0, `scripts/check_lock.mjs: ${r.stderr}`);
  const pkg = read("package.json"), lock = read("package-lock.json");
  assert.deepEqual(lock.packages[""].bin, pkg.bin);
  // every pinned dependency is locked at exactly that version
  for (const deps of [pkg.dependencies, pkg.devDependencies]) {
    for (const [name, version] of Object.entries(deps)) {
      assert.equal(lock.packages[`node_modules/${name}`]?.version, version, name);
    }
  }
});

test("check_lock: each kind of difference is reported; npm's normal forms are not", () => {
  if (!hasNode()) skip("node is not installed (setup needs Node 20)");
  const pkg = read("package.json"), lock = read("package-lock.json");
  assert.deepEqual(check(pkg, lock), [0, ""]);
  const variants: Array<[string, (p: typeof pkg, l: typeof lock) => void, string]> = [
    ["bin missing from the lock", (_p, l) => delete l.packages[""].bin, "bin"],
    ["another bin path", (p) => p.bin = { ringcap: "bin/other.ts" }, "bin"],
    ["license changed", (p) => p.license = "MIT", "license"],
    ["engines added", (p) => p.engines = { node: ">=20" }, "engines"],
    ["a dependency changed", (p) => p.dependencies.cac = "7.2.0", "dependencies"],
    ["a dev dependency added", (p) => p.devDependencies.foo = "1.0.0", "devDependencies"],
    ["version bumped", (p) => p.version = "0.2.0", "version"],
    ["a postinstall script", (p) => p.scripts.postinstall = "true", "hasInstallScript"],
    ["no root entry", (_p, l) => delete l.packages[""], "root entry"],
  ];
  for (const [what, change, field] of variants) {
    const p = structuredClone(pkg), l = structuredClone(lock);
    change(p, l);
    const [status, err] = check(p, l);
    assert.equal(status, 1, `${what}: exit status`);
    assert.match(err, new RegExp(field), what);
    assert.match(err, /npm install --package-lock-only/, what);
  }
  // written differently, the same to npm: a string bin, "./" paths, key order, empty objects
  const same: Array<[string, (p: typeof pkg, l: typeof lock) => void]> = [
    ["string bin", (p) => p.bin = "./bin/ringcap.ts"],
    ["./ in a bin path", (p) => p.bin = { ringcap: "./bin/ringcap.ts" }],
    [
      "another key order",
      (p) => p.devDependencies = Object.fromEntries(Object.entries(p.devDependencies).reverse()),
    ],
    ["empty optionalDependencies", (p) => p.optionalDependencies = {}],
  ];
  for (const [what, change] of same) {
    const p = structuredClone(pkg), l = structuredClone(lock);
    change(p, l);
    assert.deepEqual(check(p, l), [0, ""], what);
  }
});

test("setup (the test command's first step) stops on a stale lock file, before npm ci", () => {
  if (!hasNode()) skip("node is not installed (setup needs Node 20)");
  if (spawnSync("sh", ["-c", "command -v dpkg-query"]).status !== 0) {
    skip("not a Debian machine (no dpkg-query)");
  }
  const dir = mkdtempSync(join(tmpdir(), "ringcap-lock-"));
  try {
    mkdirSync(join(dir, "scripts"));
    for (const f of ["scripts/setup.sh", "scripts/check_lock.mjs", "package.json"]) {
      copyFileSync(join(ROOT, f), join(dir, f));
    }
    const lock = read("package-lock.json");
    delete lock.packages[""].bin; // the lock as it was before `bin` was added to package.json
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2));
    const r = spawnSync("bash", [join(dir, "scripts", "setup.sh"), "test"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.notEqual(r.status, 0, `setup.sh test passed with a stale lock: ${r.stderr}`);
    assert.match(r.stderr, /package-lock\.json is out of step with package\.json: bin/);
    assert.ok(!existsSync(join(dir, "node_modules")), "npm ci ran");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
