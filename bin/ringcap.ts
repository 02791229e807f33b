#!/usr/bin/env bun
/**
 * The `ringcap` command for package.json "bin" (`npx ringcap ...` runs it under
 * Bun). Deno: `deno task ringcap ...`. See lib/cli/ringcap.ts.
 * @module
 */
import process from "node:process";
import { main } from "../lib/cli/common.ts";
import { ringcap } from "../lib/cli/ringcap.ts";

await main((started) => ringcap(process.argv.slice(2), started));
