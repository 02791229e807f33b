import type { Results } from "./bench.ts";
export function writePlots(_r: Results, _dir: string): string[] {
  return [];
}
