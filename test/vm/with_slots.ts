/**
 * Runs a script with the module slot reader registered first, for as long
 * as lib/ring.ts does not import lib/ring_slots.ts itself:
 *   bun test/vm/with_slots.ts examples/pcount.ts eth0 -c 10
 * The script sees its own arguments, as if run directly.
 */
import process from "node:process";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import "../../lib/ring_slots.ts";

const script = process.argv[2];
if (!script) {
  console.error("usage: with_slots.ts SCRIPT [ARGS...]");
  process.exit(2);
}
process.argv.splice(1, 2, resolve(script));
await import(pathToFileURL(resolve(script)).href);
