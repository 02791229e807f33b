/**
 * Hand-written SVG plots of the benchmark results (no dependencies):
 *   captured_vs_size_<setup>.svg  % captured per frame size, one bar per contender
 *   captured_vs_rate.svg          % captured vs offered rate (the paper's Figure 1)
 *   drain.svg                     drain rate per contender and frame size
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Results } from "./bench.ts";
import { median } from "./stats.ts";

const COLORS: Record<string, string> = {
  "pcount-bun": "#e4572e",
  "pcount-deno": "#17bebb",
  "cread": "#2e282a",
  "tcpdump": "#76b041",
  "recvfrom": "#a0a0a0",
  "nprobe-bun": "#ffc914",
};
const color = (n: string) => COLORS[n] ?? "#7a5195";
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

interface Series {
  name: string;
  values: number[];
}

/** Grouped bars: one group per category, one bar per series. */
function bars(
  title: string,
  yLabel: string,
  cats: string[],
  series: Series[],
  yMax: number,
  note: string,
): string {
  const W = 720, H = 380, L = 60, R = 150, T = 40, B = 60;
  const pw = W - L - R, ph = H - T - B;
  const gw = pw / cats.length, bw = (gw * 0.8) / Math.max(1, series.length);
  const y = (v: number) => T + ph - (Math.min(v, yMax) / yMax) * ph;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  );
  o.push(`<rect width="100%" height="100%" fill="white"/>`);
  o.push(
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    o.push(`<line x1="${L}" x2="${L + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    o.push(`<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toFixed(1)}</text>`);
  }
  o.push(
    `<text transform="translate(15 ${T + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  cats.forEach((c, ci) => {
    const gx = L + ci * gw + gw * 0.1;
    series.forEach((s, si) => {
      const v = s.values[ci];
      if (!Number.isFinite(v)) return;
      const x = gx + si * bw;
      o.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${
          (T + ph - y(v)).toFixed(1)
        }" fill="${color(s.name)}"><title>${esc(s.name)} ${esc(c)}: ${v.toFixed(2)}</title></rect>`,
      );
    });
    o.push(`<text x="${L + ci * gw + gw / 2}" y="${T + ph + 18}" text-anchor="middle">${esc(c)}</text>`);
  });
  o.push(
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="black"/><line x1="${L}" x2="${L + pw}" y1="${
      T + ph
    }" y2="${T + ph}" stroke="black"/>`,
  );
  series.forEach((s, i) => {
    o.push(`<rect x="${L + pw + 15}" y="${T + i * 20}" width="12" height="12" fill="${color(s.name)}"/>`);
    o.push(`<text x="${L + pw + 32}" y="${T + i * 20 + 10}">${esc(s.name)}</text>`);
  });
  o.push(`<text x="${L}" y="${H - 12}" font-size="10" fill="#555">${esc(note)}</text>`);
  o.push(`</svg>`);
  return o.join("\n");
}

/** Lines: x = offered rate (Mpps), y = % captured. */
function lines(
  title: string,
  series: Array<{ name: string; pts: Array<[number, number]> }>,
  note: string,
): string {
  const W = 720, H = 380, L = 60, R = 150, T = 40, B = 60;
  const pw = W - L - R, ph = H - T - B;
  const xMax = Math.max(0.1, ...series.flatMap((s) => s.pts.map((p) => p[0]))) * 1.05;
  const x = (v: number) => L + (v / xMax) * pw;
  const y = (v: number) => T + ph - (Math.min(v, 100) / 100) * ph;
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  );
  o.push(`<rect width="100%" height="100%" fill="white"/>`);
  o.push(
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    o.push(`<line x1="${L}" x2="${L + pw}" y1="${y(i * 20)}" y2="${y(i * 20)}" stroke="#ddd"/>`);
    o.push(`<text x="${L - 6}" y="${y(i * 20) + 4}" text-anchor="end">${i * 20}</text>`);
    const xv = (xMax * i) / 5;
    o.push(`<text x="${x(xv)}" y="${T + ph + 18}" text-anchor="middle">${xv.toFixed(2)}</text>`);
  }
  o.push(
    `<text x="${L + pw / 2}" y="${T + ph + 36}" text-anchor="middle">offered rate (Mpps, 64 B frames)</text>`,
  );
  o.push(`<text transform="translate(15 ${T + ph / 2}) rotate(-90)" text-anchor="middle">% captured</text>`);
  o.push(
    `<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="black"/><line x1="${L}" x2="${L + pw}" y1="${
      T + ph
    }" y2="${T + ph}" stroke="black"/>`,
  );
  series.forEach((s, i) => {
    const pts = [...s.pts].sort((a, b) => a[0] - b[0]);
    o.push(
      `<polyline fill="none" stroke="${color(s.name)}" stroke-width="2" points="${
        pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ")
      }"/>`,
    );
    for (const p of pts) {
      o.push(
        `<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="3" fill="${color(s.name)}"><title>${
          esc(s.name)
        }: ${p[1].toFixed(2)} % at ${p[0].toFixed(3)} Mpps</title></circle>`,
      );
    }
    o.push(`<rect x="${L + pw + 15}" y="${T + i * 20}" width="12" height="12" fill="${color(s.name)}"/>`);
    o.push(`<text x="${L + pw + 32}" y="${T + i * 20 + 10}">${esc(s.name)}</text>`);
  });
  o.push(`<text x="${L}" y="${H - 6}" font-size="10" fill="#555">${esc(note)}</text>`);
  o.push(`</svg>`);
  return o.join("\n");
}

/** Write every plot the results have data for; returns the file names. */
export function writePlots(R: Results, dir: string): string[] {
  const files: string[] = [];
  const note = `${R.date.slice(0, 10)}, ${R.machine.cpus} cores, ${R.command}`;
  const put = (name: string, svg: string) => {
    writeFileSync(join(dir, name), svg + "\n");
    files.push(name);
  };
  for (const setup of ["plain", "rps"] as const) {
    const rows = R.live.filter((r) => r.setup === setup);
    if (!rows.length) continue;
    const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
    const names = [...new Set(rows.map((r) => r.contender))];
    const series = names.map((name) => ({
      name,
      values: sizes.map((s) =>
        median(rows.filter((r) => r.size === s && r.contender === name).map((r) => r.pct))
      ),
    }));
    put(
      `captured_vs_size_${setup}.svg`,
      bars(
        `% captured at max rate vs frame size (${setup === "rps" ? "RPS, capturer on CPU1" : "plain veth"})`,
        "% captured",
        sizes.map((s) => `${s} B`),
        series,
        100,
        note,
      ),
    );
  }
  if (R.drain.length) {
    const sizes = [...new Set(R.drain.map((r) => r.size))].sort((a, b) => a - b);
    const names = [...new Set(R.drain.map((r) => r.contender))];
    const series = names.map((name) => ({
      name,
      values: sizes.map((s) =>
        median(R.drain.filter((r) => r.size === s && r.contender === name).map((r) => r.mpps))
      ),
    }));
    const yMax = Math.ceil(Math.max(1, ...series.flatMap((s) => s.values.filter(Number.isFinite))) / 5) * 5;
    put(
      "drain.svg",
      bars(
        "Drain rate from a full ring (Mpps, median)",
        "Mpps",
        sizes.map((s) => `${s} B`),
        series,
        yMax,
        note,
      ),
    );
  }
  if (R.rate.length) {
    const names = [...new Set(R.rate.map((r) => r.contender))];
    const series = names.map((name) => ({
      name,
      pts: R.rate.filter((r) => r.contender === name).map((r) => [r.offeredMpps, r.pct] as [number, number]),
    }));
    put("captured_vs_rate.svg", lines("% captured vs offered rate (paper Figure 1)", series, note));
  }
  return files;
}
